"""Device layer: relay boards, card readers, the door controller and protocol-level simulators."""
