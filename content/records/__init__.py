"""Public-records duties: a records policy (classes with retention), classification, legal holds,
approved dispositions, and records-request exports."""
