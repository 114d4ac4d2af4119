"""Retention and the person's rights: purge what is past its time, export and erase an address."""
