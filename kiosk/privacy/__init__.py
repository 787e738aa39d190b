"""Privacy: the retention rules and the purge that applies them, erasure, data-subject requests.

- ``rules``: when each kind of visitor data must be gone;
- ``purge`` (with ``lock`` and ``schedule``): erases what has expired and records each run;
- ``status``: what the dashboard says about the purge;
- ``erasure``: the one way visits and invitations are erased, shared by the purge and requests;
- ``requests``: finding, exporting (``access_pdf``), correcting and erasing one person's records;
- ``stats``: the anonymous daily counts that outlive the visits;
- ``routes``: the public notice page visitors open on their phones.
"""
