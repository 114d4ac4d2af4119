"""Building the learned layer (`inbox triage train`) and measuring it by cross-validation. It
uses the rules and the triage that use the learned model, so it sits above both: nothing in
`inbox.knowledge` imports it but the commands."""
