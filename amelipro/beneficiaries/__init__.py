"""Beneficiaries: the caisse's file of insured persons (rights, exemptions, EHPAD stays)."""
