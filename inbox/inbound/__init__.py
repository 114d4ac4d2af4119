"""Mail that comes in: patients' replies, automatic replies and bounces, taken in over LMTP/SMTP,
a pipe or IMAP, stored raw before it is acknowledged, and processed in the worker."""
