"""What engines need to mint credentials: passwords from password policies, usernames
from username templates (Vault's SystemView.GeneratePasswordFromPolicy and sdk/helper/template).
"""
