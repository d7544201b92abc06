"""Django staff users for the admin tests (browser and test client), and what the admin says."""

PASSWORD = "correct horse battery staple"
REFUSED = "Please enter the correct username and password for a staff account."


def make_staff(user_model, username: str = "staff"):
    """Create a superuser with PASSWORD."""
    return user_model.objects.create_superuser(username, f"{username}@example.com", PASSWORD)
