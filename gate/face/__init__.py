"""Face verification, 1:1 only: a probe is compared with one claimed resident's template, never searched.

Modules, one job each: `images` (safe decoding), `engine` (the dlib models), `quality` (is this frame
usable, and if not what should the person do), `enroll`, `verify`, `liveness`, `evaluate`, `bench`, and
`service` (consent, encrypted storage, the gate's entry points).
"""
