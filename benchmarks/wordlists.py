"""Word lists the synthetic glossary is built from: the vocabulary of an AI/data glossary.

Names combine a modifier (plain or hyphenated), a domain noun and a head noun ("sparse
attention router", "low-rank gradient projection", "KV memory budget"); aliases swap in
synonyms, reorder as "X for Y" or use the initials; definitions fill sentence templates.
Every list is plain running text split on spaces (hyphenated words stay whole) or, for
phrases, on commas, so it reads like a vocabulary rather than a column of strings.
"""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(text.split()))


def _phrases(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",")))


MODIFIERS = _words(
    "adaptive sparse dense federated contrastive causal latent recurrent stochastic "
    "differentiable hierarchical probabilistic robust incremental distributed quantized pruned "
    "distilled multimodal generative discriminative bayesian variational adversarial "
    "autoregressive residual convolutional gated weighted normalized calibrated regularized "
    "synthetic streaming online offline batched active semantic syntactic lexical temporal "
    "spatial spectral neural symbolic modular elastic dynamic static shared private secure "
    "encrypted anonymized auditable explainable interpretable transparent accountable "
    "reproducible deterministic greedy nested cascaded parallel sequential asynchronous lazy "
    "cached indexed sharded replicated versioned curated labelled noisy balanced stratified "
    "pooled masked shifted scaled rotary relative absolute global local joint marginal "
    "conditional hybrid boosted tabular textual visual acoustic multilingual contextual "
    "continual lifelong episodic implicit explicit orthogonal linear nonlinear recursive "
    "iterative progressive curriculum meta structured unstructured grounded ungrounded "
    "verified trusted untrusted certified monotonic smoothed clipped truncated annealed "
    "warm cold frozen trainable learned fixed hashed ranked sorted filtered deduplicated "
    "weak strong soft hard sliding rolling cumulative composite atomic primary secondary "
    "tiered layered fused packed unified decoupled"
)

HYPHENATED_MODIFIERS = _words(
    "low-rank zero-shot few-shot one-shot self-supervised semi-supervised multi-head "
    "multi-task multi-agent cross-lingual cross-modal long-context mixed-precision "
    "half-precision fine-grained coarse-grained end-to-end real-time near-duplicate "
    "out-of-distribution in-context post-hoc pre-trained instruction-tuned reward-weighted "
    "risk-based privacy-preserving rule-based model-based data-centric energy-based "
    "attention-based non-parametric state-space task-specific domain-specific open-weight "
    "closed-source bias-aware cost-sensitive safety-critical high-dimensional low-latency "
    "token-level sentence-level document-level byte-level character-level second-order "
    "first-order gradient-free label-efficient compute-optimal memory-efficient "
    "human-centred user-facing on-device server-side client-side policy-driven event-driven "
    "feature-wise layer-wise group-wise"
)

DOMAINS = _words(
    "attention gradient token embedding feature label prompt reward policy value retrieval "
    "ranking query document vector tensor kernel activation weight parameter loss sampling "
    "decoding inference training evaluation benchmark dataset data schema lineage consent "
    "audit risk incident threat access identity privacy fairness bias drift anomaly outlier "
    "cluster topic entity relation knowledge graph memory context routing expert adapter "
    "neuron circuit concept safety alignment preference feedback annotation crowd quality "
    "latency throughput cost energy carbon compliance governance disclosure provenance "
    "watermark content moderation toxicity sentiment intent speech image video audio sensor "
    "signal forecast demand fraud credit churn recommendation search translation "
    "summarization classification regression segmentation detection tracking planning tool "
    "agent workflow orchestration deployment monitoring logging telemetry experiment cohort "
    "session event metadata lakehouse warehouse catalog contract vendor customer patient "
    "claim transaction pricing inventory supply"
)

HEADS = _words(
    "model network layer encoder decoder store index cache buffer queue registry pipeline "
    "loop schedule scheduler function metric score estimator sampler tokenizer optimizer "
    "regularizer classifier detector filter router gate probe corpus split review "
    "assessment framework protocol standard guideline checklist report card sheet ledger "
    "budget threshold window bound gap shift collapse leakage poisoning injection attack "
    "defense mitigation control safeguard guardrail monitor dashboard alert playbook runbook "
    "taxonomy ontology mapping projection decomposition factorization distillation "
    "compression quantization pruning augmentation normalization calibration tuning "
    "pretraining reranking clustering attribution explanation tracing sandbox gateway "
    "broker ensemble benchmark matrix graph heuristic objective constraint penalty prior "
    "posterior baseline snapshot manifest"
)

# Acronym-like name openers, as people write them ("KV memory budget", "GPU routing queue").
ACRONYM_WORDS = _words(
    "KV GPU TPU API LLM SQL PII ETL RAG MoE SLA NLP CNN RNN GAN VAE PCA SVD BM25 ONNX CUDA "
    "JSON HTTP REST SSO OCR ASR TTS"
)

# Synonyms used to write an alias: the same idea in other words.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "model": ("network", "architecture"),
    "store": ("repository", "database"),
    "index": ("lookup table", "inverted file"),
    "cache": ("memo table", "reuse buffer"),
    "buffer": ("staging area", "holding queue"),
    "queue": ("backlog", "work list"),
    "registry": ("catalogue", "directory"),
    "pipeline": ("workflow", "processing chain"),
    "loop": ("cycle", "feedback cycle"),
    "metric": ("measure", "indicator"),
    "score": ("rating", "grade"),
    "estimator": ("approximator", "predictor"),
    "classifier": ("categorizer", "labeller"),
    "detector": ("finder", "spotter"),
    "filter": ("screen", "sieve"),
    "router": ("dispatcher", "switchboard"),
    "review": ("inspection", "walkthrough"),
    "assessment": ("appraisal", "evaluation study"),
    "framework": ("scaffold", "blueprint"),
    "guideline": ("recommendation", "rule of thumb"),
    "checklist": ("tick list", "punch list"),
    "report": ("write-up", "summary document"),
    "ledger": ("journal", "logbook"),
    "budget": ("allowance", "quota"),
    "threshold": ("cut-off", "trip point"),
    "leakage": ("spillover", "bleed"),
    "attack": ("exploit", "assault"),
    "defense": ("protection", "countermeasure"),
    "mitigation": ("remediation", "risk reduction"),
    "guardrail": ("safety rail", "policy fence"),
    "monitor": ("watcher", "observer"),
    "dashboard": ("control panel", "status board"),
    "playbook": ("response plan", "procedure book"),
    "taxonomy": ("classification scheme", "category tree"),
    "compression": ("shrinking", "size reduction"),
    "tuning": ("adjustment", "refinement"),
    "explanation": ("rationale", "justification"),
    "gateway": ("entry point", "front door"),
    "ensemble": ("committee", "panel of models"),
    "sparse": ("thin",),
    "dense": ("compact",),
    "robust": ("resilient", "hardened"),
    "adaptive": ("self-adjusting",),
    "federated": ("decentralised",),
    "secure": ("hardened", "protected"),
    "explainable": ("understandable",),
    "streaming": ("continuous",),
    "synthetic": ("generated", "artificial"),
    "greedy": ("myopic",),
    "attention": ("focus",),
    "retrieval": ("lookup",),
    "fraud": ("scam",),
    "toxicity": ("harmful content",),
    "privacy": ("confidentiality",),
}

# Sentence parts for definitions.
KINDS = _words(
    "technique method practice component mechanism pattern safeguard process approach "
    "control measure tool procedure design"
)

VERBS = _words(
    "tracks limits combines ranks filters stores estimates records compresses routes "
    "aligns checks scores groups reduces measures protects explains predicts balances "
    "schedules summarizes reconciles marks audits"
)

OBJECTS = _phrases(
    "model outputs, training examples, user requests, feature values, embeddings, prompts, "
    "retrieved passages, gradient updates, access logs, customer records, evaluation results, "
    "risk signals, noisy labels, token streams, cached results, policy decisions, "
    "sensor readings, incident reports, vendor contracts, data sources"
)

GOALS = _words(
    "cost quality latency safety fairness accuracy privacy reliability coverage "
    "traceability compliance robustness throughput consistency freshness"
)

TEAMS = _words(
    "product engineering legal security policy communications support finance operations "
    "research procurement marketing"
)

SENTENCES: tuple[str, ...] = (
    "It {verb} {object} so that teams can reason about {goal} before a system reaches users.",
    "In practice the {name} sits between the data sources and the serving layer, where it "
    "{verb} {object} and keeps a record of every decision.",
    "Teams adopt it when {object} grow faster than people can review them by hand, or when "
    "{goal} starts to slip in production.",
    "A typical implementation {verb} {object} in small batches, compares the result with a "
    "baseline, and raises an alert when the difference exceeds an agreed threshold.",
    "The main trade-off is between {goal} and {goal2}: tightening one usually costs some of "
    "the other, so the settings are reviewed with the {team} team each quarter.",
    "Common failure modes include stale configuration, silent changes in {object}, and "
    "owners who assume someone else is watching the dashboards.",
    "Good documentation states what the {name} does not cover, who owns it, and how to turn "
    "it off safely during an incident.",
    "Auditors usually ask for evidence that the {name} ran as designed, so logs and "
    "versioned settings matter as much as the code itself.",
    "It is often confused with the {other}, which {verb2} {object2} instead and serves a "
    "different purpose.",
    "Measuring its effect needs a held-out set of {object} and a clear definition of what "
    "better {goal} means for the business.",
    "Smaller organisations can start with a manual version run by the {team} team and "
    "automate it once the process is stable.",
    "Because it {verb} {object}, it also becomes a place where personal data can leak, so "
    "access is limited and retention is kept short.",
    "Vendors describe it in different words, which is why this glossary lists several "
    "aliases and links to the related terms below.",
)

SHORT_DEFS: tuple[str, ...] = (
    "A {kind} that {verb} {object} to improve {goal}.",
    "A {kind} for {goal}: it {verb} {object} before they reach people or downstream systems.",
    "The {kind} of {gerund} {object} so that {goal} can be measured and kept in bounds.",
    "A {kind} that {verb} {object} and reports when {goal} drifts outside agreed limits.",
)

EXEC_LINES: tuple[str, ...] = (
    "It protects {goal} at scale; without it we rely on people noticing problems late.",
    "Investing here lowers the risk of a public failure and makes {goal} something we can "
    "report on.",
    "This is how we show regulators and customers that {goal} is managed, not assumed.",
)

ENGINEER_LINES: tuple[str, ...] = (
    "Version its configuration, log every decision with an id, and test it against a fixed "
    "set of {object}.",
    "Keep it behind a feature flag, measure {goal} before and after, and alert on drift.",
    "Run it in shadow mode first and compare its output on real {object} with the current system.",
)

DO_LINES: tuple[str, ...] = (
    "Review the {name} settings with the {team} team before each major release.",
    "Record which version of the {name} produced each decision.",
    "Start with a small, well-labelled sample of {object} and grow from there.",
)

DONT_LINES: tuple[str, ...] = (
    "Do not treat the {name} as a replacement for human review of high-risk cases.",
    "Do not change its thresholds in production without a recorded reason.",
    "Do not feed it {object} that were never checked for quality.",
)

RISK_LINES: tuple[str, ...] = (
    "Misconfiguration can silently degrade {goal} for weeks before anyone notices.",
    "Logs kept for debugging may contain personal data and need a retention limit.",
    "Over-reliance on automated output can hide errors that a reviewer would catch.",
)

CATEGORIES = _words(
    "Foundations Training Evaluation Inference Data Privacy Security Governance Safety "
    "Operations Retrieval Fairness Generative-AI Infrastructure Compliance Analytics"
)

NIST_TAGS = _words(
    "govern map measure manage accountability transparency privacy security fairness "
    "reliability safety monitoring documentation"
)

AUTHORS = _words(
    "Abadi Bengio Chen Dwork Finn Goodfellow Hinton Kingma LeCun Lipton Mitchell Ng Raji "
    "Russell Sutton Vaswani Zhang Gebru Bender Liang Kaplan Hoffmann Wei Ouyang Lewis"
)

CITATION_HOSTS = _words(
    "arxiv.org/abs docs.example.com/glossary research.example.org/papers "
    "standards.example.net/ai wiki.example.com/terms"
)

# Words no generated name uses: for queries that must find nothing.
UNRELATED_WORDS = _words(
    "banana invoice parking lunch holiday umbrella stapler carpet sunflower volcano penguin "
    "guitar marathon sandwich lantern harbour meadow compass teapot bicycle orchestra "
    "pyramid glacier festival lighthouse notebook pancake tornado velvet walrus"
)

UNRELATED_PHRASES = _phrases(
    "quarterly expense, team offsite, daily standup, sprint retro, onboarding buddy, "
    "timesheet, payroll, roadmap, all-hands, kickoff"
)
