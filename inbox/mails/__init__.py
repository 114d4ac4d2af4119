"""The text of every mail the service sends: the templates in email_templates/ rendered with a
message's sections (reply, acknowledgement, follow-up, staff alert, digest), and staff's own
edited replies turned into mail parts. Pure functions of their inputs: no database."""
