"""Mails the service sends by itself about a message: the acknowledgement to the patient and the
alert to staff for an urgent one (service.py), and the daily digest for staff (digest.py)."""
