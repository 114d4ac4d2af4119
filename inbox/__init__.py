"""inbox: the service behind a hospital website's Leave Message form."""
