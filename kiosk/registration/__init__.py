"""The kiosk screens visitors use at reception."""
