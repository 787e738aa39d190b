"""Badges, as a domain package with no blueprint: formats (presets), fonts, what goes on a
badge (content), drawing it (render), printing it and the record of every attempt (jobs,
cups), each site's settings (settings), and the evacuation list.

The pages are views of the UIs: kiosk.dashboard.prints and kiosk.registration.badge.
"""
