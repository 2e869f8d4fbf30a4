"""A local CRM sandbox speaking the HubSpot and Salesforce wire protocols."""
