"""What runs on a timer: the minute job and what each of its steps writes."""
