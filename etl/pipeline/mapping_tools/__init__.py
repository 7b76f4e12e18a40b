"""Onboarding tools: ``mapping suggest`` drafts a mapping for a spreadsheet, ``mapping check`` tries it."""
