"""Device layer: relay boards, card readers, cameras, the door controller and protocol-level simulators.

It stands alone: nothing here imports the gate service except the pure card-number codec
(gate.core.cardnumber), and the service translates these errors (drivers.errors) at its boundary.
"""
