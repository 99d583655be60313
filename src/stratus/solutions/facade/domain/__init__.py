"""Pure rules of the facade: permissions and policies, answers, clean-up and anonymising."""
