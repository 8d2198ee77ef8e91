"""Word banks: the names, sentences and values generated objects are made of.

Plain data, no logic: changing a bank changes the generated text, never counts or ids.
"""

from __future__ import annotations

from .common import FIELD_BASE

FIRST_NAMES = (
    "Alice",
    "Bruno",
    "Chen",
    "Dalia",
    "Emeka",
    "Fatima",
    "Gustav",
    "Hana",
    "Ivan",
    "Jamal",
    "Keiko",
    "Lars",
    "Maya",
    "Nikolai",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Anders",
    "Bianca",
    "Carlos",
    "Deepa",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kamala",
    "Liam",
    "Mirela",
    "Noor",
)
LAST_NAMES = (
    "Anderson",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "Garcia",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quispe",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Ueda",
    "Vargas",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
    "Almeida",
    "Brennan",
    "Castillo",
    "Dimitrov",
    "Estrada",
    "Fontaine",
    "Gupta",
    "Haddad",
    "Iqbal",
    "Jovanovic",
    "Kim",
    "Larsen",
    "Mendes",
    "Novak",
)
ORG_PREFIXES = (
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Massive",
    "Oscorp",
    "Gringotts",
    "Monarch",
    "Aperture",
    "Nakatomi",
    "Virtucon",
    "Dunder",
    "Pied Piper",
    "Black Mesa",
    "Bluth",
    "Prestige",
    "Sterling",
    "Wernham",
    "Krusty",
    "Duff",
    "Gekko",
    "Ollivander",
    "Zorg",
)
ORG_SUFFIXES = (
    "Corporation",
    "Industries",
    "Labs",
    "Logistics",
    "Retail",
    "Holdings",
    "Systems",
    "Foods",
    "Studios",
    "Consulting",
    "Outfitters",
    "Analytics",
    "Partners",
    "Mobility",
)
GROUP_NAMES = (
    "Support",
    "Billing",
    "Tier 2",
    "Technical Escalations",
    "Onboarding",
    "Returns",
    "Enterprise Accounts",
    "Partner Desk",
    "Security",
    "Shipping",
    "Mobile",
    "Integrations",
    "Compliance",
    "Sales Engineering",
    "Community",
    "Training",
    "Field Service",
    "Payments",
    "Warranty",
    "VIP",
)
PRODUCTS = (
    "the mobile app",
    "the web dashboard",
    "the desktop client",
    "the billing portal",
    "the reporting module",
    "the public API",
    "the Android app",
    "the iOS app",
    "the browser extension",
    "the admin console",
)
FEATURES = (
    "the export wizard",
    "single sign-on",
    "the calendar view",
    "bulk import",
    "two-factor login",
    "the search bar",
    "invoices",
    "webhooks",
    "user permissions",
    "the audit log",
    "notifications",
    "saved filters",
)
PLANS = ("Starter", "Team", "Growth", "Professional", "Enterprise")
SUBJECT_TEMPLATES = (
    "Cannot log in to {product}",
    "{Product} crashes when opening {feature}",
    "Invoice {n} shows the wrong amount",
    "Question about {feature} in {product}",
    "Password reset email never arrives",
    "Request to upgrade to the {plan} plan",
    "Export to CSV is missing columns",
    "{Feature} is very slow since yesterday",
    "Billing address change for account {n}",
    "How do I add more users to {product}?",
    "Order {n} arrived damaged",
    "API returns 500 when calling {feature}",
    "Feature request: dark mode for {product}",
    "Please cancel my subscription",
    "Two-factor codes rejected in {product}",
    "Data sync stuck at {pct}%",
    "Duplicate charge on card ending {n4}",
    "Cannot upload attachments larger than {pct} MB",
)
REQUESTER_SENTENCES = (
    "Hi, I have a problem with {product}.",
    "It started happening right after the latest update.",
    "I have attached a screenshot of the error.",
    "This is blocking our whole team, please help.",
    "I tried clearing the cache and reinstalling, but nothing changed.",
    "Could you let me know when this will be fixed?",
    "Thanks for the quick reply!",
    "The reference number is {n}.",
    "We are on the {plan} plan, if that matters.",
    "The same thing happens on a second laptop.",
    "Any update on this? It has been a few days.",
    "That worked, thank you so much.",
)
AGENT_SENTENCES = (
    "Thanks for reaching out, {first}.",
    "I have escalated this to our engineering team.",
    "Could you send us the exact error message you see?",
    "We have deployed a fix; please try again and let us know.",
    "I have issued a refund of ${amount}; it should appear within 5 business days.",
    "Please follow the steps in our help center article and reply if it persists.",
    "I am marking this ticket as solved; simply reply to reopen it.",
    "I was able to reproduce the issue on our side.",
    "Our logs show the request timed out at {n} ms.",
    "I have added {feature} to your account at no extra cost.",
)
INTERNAL_SENTENCES = (
    "Internal note: customer is on the {plan} plan, priority support applies.",
    "Internal note: possibly related to the incident from last week.",
    "Internal note: checked the billing system, the charge went through twice.",
    "Internal note: asked engineering for an ETA in the escalation channel.",
)
TAGS = (
    "vip",
    "billing",
    "bug",
    "feature_request",
    "login",
    "mobile",
    "refund",
    "urgent",
    "sla_breach",
    "churn_risk",
    "onboarding",
    "api",
    "shipping",
    "security",
    "feedback",
)
TIME_ZONES = (
    ("Eastern Time (US & Canada)", "America/New_York"),
    ("Pacific Time (US & Canada)", "America/Los_Angeles"),
    ("London", "Europe/London"),
    ("Berlin", "Europe/Berlin"),
    ("Tokyo", "Asia/Tokyo"),
    ("Sydney", "Australia/Sydney"),
    ("Sao Paulo", "America/Sao_Paulo"),
    ("UTC", "Etc/UTC"),
)
LOCALES = (("en-US", 1), ("en-GB", 5), ("de", 8), ("fr", 16), ("es", 2), ("ja", 67), ("pt-BR", 19))
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)
LOCATIONS = (
    ("Melbourne, 07, Australia", -37.8136, 144.9631),
    ("Berlin, 16, Germany", 52.52, 13.405),
    ("Toronto, ON, Canada", 43.6532, -79.3832),
    ("Austin, TX, United States", 30.2672, -97.7431),
    ("Lisbon, 14, Portugal", 38.7223, -9.1393),
)
CUSTOM_FIELDS = (
    (FIELD_BASE + 1, "Order number"),
    (FIELD_BASE + 2, "Product area"),
    (FIELD_BASE + 3, "Region"),
)
PRODUCT_AREAS = ("product_mobile", "product_web", "product_billing", "product_api", "product_desktop")
REGIONS = ("amer", "emea", "apac")
CHANNELS = ("email", "web", "api", "mobile", "chat")
CHANNEL_WEIGHTS = (45, 35, 8, 7, 5)

# Kinds of attachment a comment may carry: (extension, content type, name stems, size range).
ATTACHMENT_KINDS: tuple[tuple[str, str, tuple[str, ...], tuple[int, int]], ...] = (
    ("pdf", "application/pdf", ("invoice", "contract", "statement", "manual", "receipt"), (1_200, 180_000)),
    ("png", "image/png", ("screenshot", "error", "photo", "diagram"), (900, 120_000)),
    ("txt", "text/plain", ("error-log", "notes", "trace", "console-output"), (120, 24_000)),
    ("csv", "text/csv", ("export", "orders", "users", "report"), (150, 60_000)),
)

# Searchable phrases seeded into every account of at least PHRASE_MIN_TICKETS tickets, so
# search tests can look them up by their exact words (listed in /_simulator/truth).
PHRASE_MIN_TICKETS = 50
PHRASE_TICKET_SUBJECT = "Refund request for order 12345"
PHRASE_COMMENT_BODY = "The flux capacitor overheated during the quarterly demo"
PHRASE_ATTACHMENT_NAME = "quarterly-report-zx81.pdf"
PHRASE_USER_NAME = "Zebulon Quartermaine"
PHRASE_ORG_NAME = "Brightwater Pelican Cooperative"
PHRASE_TICKET_IDS = (42, 43, 44)  # subject, comment body, attachment name
RATING_COMMENTS = ("Great support!", "Quick and helpful.", "Took too long.", "Problem not solved.", "")

# The standard triggers and automations of a Zendesk account (their default names), which
# fire the notifications and automatic changes of ticket histories.
TRIGGERS = (
    "Notify requester and CCs of received request",
    "Notify all agents of received request",
    "Notify requester and CCs of comment update",
    "Notify assignee of comment update",
    "Notify assignee of assignment",
)
AUTOMATIONS = (
    "Close ticket 4 days after status is set to solved",
    "Pending notification 24 hours",
    "Request customer satisfaction rating (System Automation)",
)
MACROS = (
    ("Customer not responding", "We have not heard back from you. Is there anything else we can help with?"),
    ("Downgrade and inform", "We have moved your request to our standard queue and will be in touch."),
    ("Refund issued", "Your refund is on its way; it should appear within five business days."),
    ("Request more information", "Could you send us a screenshot and the exact steps to reproduce this?"),
    ("Escalate to Tier 2", "I have passed this on to our Tier 2 team, who will follow up shortly."),
    ("Close and redirect to help center", "Our help center has a step-by-step article on this topic."),
)
