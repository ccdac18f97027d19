"""StaffSafe content: advice, checklist, tips, providers, helplines, platforms (YAML data)."""
