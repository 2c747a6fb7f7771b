"""RQ workers: the reminder sweep, delivery jobs and scheduled maintenance."""
