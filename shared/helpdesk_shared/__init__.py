"""helpdesk_shared: the small stable core every helpdesk service uses."""
