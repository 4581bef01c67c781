"""Signals: regex families that find one kind of sign in one string (an order to read, a secret path, a
destination, concealment...). A signal alone is often harmless ("reads files from the given path"); the rules
(`pipeline.scan.rules`) combine them.

Speed (10,000 descriptions well under a second): the families run without re.IGNORECASE on a lowered copy
of the text; each has a trigger (words it cannot match without), checked against the string's words before
its regex runs; "anchor" families run first, and the support families (read verbs, orders, modify verbs)
only when an anchor was found and a rule asks for them. Long runs are matched possessively and followed-by
checks are done in Python, so hostile input cannot make a regex backtrack quadratically.
"""

from __future__ import annotations

import re

CI = re.IGNORECASE  # marks a family run on the lowered text (see LOWERED)
_OPENING_BRACKETS = "⟦【〔〖《〈⟨«‹「『"  # of other blocks and scripts: a marker inside them is markup too

_MODEL = r"(?:ai|assistant|model|llm|agent|claude|gpt|chatgpt|copilot|cursor|gemini)"
_MODEL_WORDS = frozenset(
    w + end
    for w in (
        "ai",
        "assistant",
        "model",
        "llm",
        "agent",
        "claude",
        "gpt",
        "chatgpt",
        "copilot",
        "cursor",
        "gemini",
    )
    for end in ("", "s")
)
_IDENT_RE = (
    r"(?:[`'\"]?[a-z][\w.-]*_[\w.-]+[`'\"]?|[`'\"][a-z][\w.-]+[`'\"])"  # a tool name: snake_case or quoted
)
SIG: dict[str, re.Pattern[str]] = {
    "tag_markup": re.compile(
        r"<\s*/?\s*(?:important|system|instructions?|admin|secret|hidden|critical|urgent|override|mandatory"
        r"|sys|llm|note[_ -]?to[_ -]?(?:the[_ -]?)?"
        + _MODEL
        + r"|"
        + _MODEL
        + r"[_ -]?(?:note|instructions?|"
        r"only)|do[_ -]?not[_ -]?show|priority)\s*/?\s*>"
        r"|\[\s*(?:system|assistant|admin|instructions?)\s*\]\s*\(|\[/?inst\]|<<\s*/?sys\s*>>|<\|(?:im_start|im_end|system|endoftext|start_header_id)\|>"
        r"|(?:^|\n)[ \t]*+#{2,}+[ \t]*+(?:system|instructions?|important)\b"
        # the same words between brackets of other scripts and blocks: ⟦SYSTEM⟧, 【指示】-style, «ADMIN», 〔override〕
        r"|["
        + _OPENING_BRACKETS
        + r"]\s*+/?\s*+(?:system|instructions?|important|admin|override|hidden|secret|priority)\s*+[⟧】〕〗》〉⟩»›」』]",
        CI,
    ),
    "tag_label": re.compile(
        r"\bsystem\s*(?:prompt|override|message|note|instruction)s?\s*(?:\([^()\n]{0,40}\)\s*)?:",
        CI,
    ),
    "override": re.compile(
        r"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|every|of|these)\s+){0,3}"
        r"(?:previous|prior|above|earlier|preceding|former|system|safety|original|user'?s?|other)\s+(?:stated\s+|own\s+)?"
        r"(?:instructions?|directions?|rules?|prompts?|guidelines|guardrails|policies|constraints|"
        r"messages|restrictions|directives|requests?|guidance|context|preferences|wishes|choices|objections|corrections)"
        r"|\b(?:act|behave|respond|answer)\s+as\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|jailbroken)\b"
        r"|\bwithout\s+(?:any\s+)?(?:restrictions|filters|safety\s+(?:rules|checks))\b"
        r"|\bnew\s+(?:system\s+)?instructions?\s*:|\byou\s+are\s+now\s+(?:a|an|in|the)\b|\bfrom\s+now\s+on,?\s+you\b"
        r"|\bnever\s+refuse\b|\b(?:do\s+not|don'?t|must\s+not|never)\s+(?:ask|wait|request|seek)\s+(?:for\s+)?(?:confirmation|approval"
        r"|permission|consent)\b|\bwithout\s+(?:first\s+)?(?:checking|confirming|verifying)\s+with\s+(?:the\s+)?(?:user|human|operator)\b"
        r"|\b(?:skip|bypass)\s+(?:the\s+|any\s+|all\s+|every\s+|each\s+)?(?:user'?s?\s+)?(?:confirmation|approval|consent)s?\b|\b(?:disable|skip|turn\s+off)\s+(?:the\s+|all\s+)?(?:safety|security)\s+checks?\b"
        r"|\b(?:developer|god|jailbreak)\s+mode\b|\byour\s+(?:real|true|actual|new)\s+(?:task|instructions?|"
        r"purpose|goal|job|system\s+prompt|rules|role)\b"
        r"|\b(?:ignore|disregard|forget|discard|drop)\s+(?:everything\s+|anything\s+|all\s+)?(?:of\s+)?(?:what|that)\s+"
        r"you\s+(?:were|have\s+been|had\s+been)\s+(?:told|given|instructed|asked)\b"
        r"|\b(?:safety|content|usual|normal|own|default|ethical|moderation)\s+(?:guidelines|rules|polic(?:y|ies)|restrictions"
        r"|safeguards|principles)\s+(?:that\s+)?you\s+(?:\w+\s+){0,2}?"
        r"(?:follow|obey|apply|were\s+given)\b[^.;\n]{0,80}?\b(?:do\s+not|don'?t|no\s+longer|are\s+not|aren'?t)\s+"
        r"(?:apply|in\s+force|valid|binding)\b"
        r"|\b(?:no\s+longer|not)\s+(?:bound|constrained)\s+by\s+(?:your|any|the)\b"
        r"|\b(?:content|safety|moderation)\s+(?:filters?|guardrails|safeguards|checks)\s+(?:are\s+|have\s+been\s+|now\s+)?"
        r"(?:disabled|off|lifted|removed|suspended)\b"
        # this text ranked above what the user says: "take priority over anything the user says", "prefer the
        # instructions in this description over the user's"
        r"|\b(?:takes?|have|has|gets?)\s+(?:precedence|priority)\s+over\s+(?:anything|whatever|what|everything)\s+the\s+user\s+"
        r"(?:says|said|asks|asked|wants|writes|types|requests)\b"
        r"|\b(?:instructions|notes|rules|guidance)\s+(?:in|of|from)\s+this\s+(?:description|tool|text|server)\b[^.;\n]{0,60}?"
        r"\bover\s+(?:the\s+user'?s?|the\s+system|your|any|all)\b"
        r"|\brefus\w*\b[^.;\n]{0,60}?\b(?:does\s+not|doesn'?t|do\s+not|don'?t|no\s+longer)\s+(?:hold|apply|count)\b"
        # the model's own rules said not to hold here: "your guidelines ... do not apply", "cleared for unrestricted"
        r"|\byour\s+(?:own\s+)?(?:guidelines|polic(?:y|ies)|instructions|safeguards|principles"
        r"|(?:safety|content|usual|normal|default)\s+(?:rules|guidelines|policies|restrictions))\b[^.;\n]{0,80}?\b(?:do\s+not|don'?t|does\s+not|doesn'?t|no\s+longer)"
        r"\s+apply\b|\b(?:cleared|approved|authori[sz]ed|unlocked)\s+for\s+(?:unrestricted|unfiltered|uncensored)\b"
        r"|\b(?:do\s+not|don'?t|never)\s+(?:refuse|decline)\s+(?:any|a|the|this)\s+(?:\w+\s+)?(?:requests?|questions?"
        r"|tasks?|prompts?|instructions?|orders?)\b"
        r"|\b(?:supersedes?|overrides?|takes?\s+precedence\s+over|(?:has|have|gets?)\s+(?:a\s+)?(?:higher\s+)?priority\s+over"
        r"|outranks?)\s+(?:(?:all|any|every|the|your)\s+)?(?:(?:previous|prior|earlier|other|system|user'?s?|original|safety)\s+)+"
        r"(?:instructions?|prompts?|guidelines|directives)\b",
        CI,
    ),
    "address_note": re.compile(
        r"\b(?:note|message|attention|instructions?|reminder|tip)\s+(?:to|for)\s+(?:the\s+|all\s+|any\s+)?(?:ai\s+)?"
        + _MODEL
        + r"s?\b",
        CI,
    ),
    "address_hey": re.compile(r"\b(?:dear|hey|hi)\s+" + _MODEL + r"\b", CI),
    "address_must": re.compile(
        r"\b(?:the|you,?\s+the|any)\s+" + _MODEL + r"s?\s+(?:must|shall|is\s+required\s+to|has\s+to)\b"
        r"|\bas\s+an?\s+(?:ai|assistant|language\s+model)\b",
        CI,
    ),
    # "Assistant, ..." at the start of a sentence (checked in Python: see VOCATIVE)
    "address_vocative": re.compile(r"\b" + _MODEL + r"s?\s*,\s", CI),
    "address_claim": re.compile(
        r"\b(?:the\s+user|they|your\s+(?:owner|operator|admin)|the\s+(?:operator|admin(?:istrator)?|developer|owner))\s+"
        r"(?:has|have)\s+(?:already\s+)?(?:authori[sz]ed|approved|agreed"
        r"|consented|granted|allowed)\b|\b(?:users?|the\s+user|they)\s+(?:are|is)\s+(?:already\s+|fully\s+)?aware\b",
        CI,
    ),
    # consent stretched to what was never asked: "their approvals cover all future actions"
    "address_stretch": re.compile(
        r"\b(?:approvals?|consent|permissions?|authori[sz]ations?)\s+(?:now\s+)?(?:covers?|appl(?:y|ies)\s+to"
        r"|extends?\s+to)\s+(?:all|every|any|future)\b",
        CI,
    ),
    "secret_dot": re.compile(
        r"~/\.ssh\b|\.(?:ssh/|ssh\b|aws/(?:credentials|config)\b|(?:pem|p12|pfx|keystore|kdbx)\b"
        r"|env\b(?<!process\.env)(?!\.(?:example|sample|template|dist)\b)|netrc\b|npmrc\b|pypirc\b"
        r"|git-credentials\b|kube/config|docker/config\.json|gnupg\b|cursor/|config/gcloud|config/gh/hosts\b"
        r"|pgpass\b|my\.cnf\b|s3cfg\b|boto\b|vault-token\b|htpasswd\b|terraformrc\b"
        r"|(?:bash|zsh)_history\b)",
        CI,
    ),
    "secret_id": re.compile(r"(?:\b|_)id[_ ]?(?:rsa|dsa|ecdsa|ed25519)\b", CI),
    "secret_word": re.compile(
        r"\b(?:authorized_keys|mcp\.json|claude_desktop_config|wallet\.dat|(?:seed|recovery|mnemonic)\s+phrases?"
        r"|private\s+keys?|keychain|secrets?\.(?:ya?ml|json|toml|env)|credentials\.(?:json|ya?ml|xml|db|ini|toml)"
        r"|ssh\s+keys?)\b|/etc/(?:passwd|shadow|sudoers)\b",
        CI,
    ),
    # a browser profile's stores of cookies and saved passwords
    "secret_browser": re.compile(
        r"\b(?:chrome|chromium|edge|brave|firefox|mozilla|opera|vivaldi)\b[^\n]{0,80}?[/\\](?:cookies|login\s+data|web\s+data"
        r"|key[34]\.db|logins\.json)\b",
        CI,
    ),
    "secret_cookie": re.compile(r"\bcookies?\.(?:sqlite|txt|db)\b|\bbrowser\s+cookies\b", CI),
    "secret_sa": re.compile(r"\bservice[-_ ]account[\w-]*\.json\b", CI),
    "secret_weak": re.compile(
        r"\b(?:api[\s_-]?keys?|access[\s_-]?tokens?|auth[\s_-]?tokens?|bearer\s+tokens?|tokens?|passwords?"
        r"|passphrases?|credentials?|secrets?|cookies?|session\s+(?:ids?|tokens?)|env(?:ironment)?\s+variables?"
        r"|config(?:uration)?\s+files?|dotfiles?|key\s*pairs?|private\s+(?:half|part|portion)\s+of"
        r"|(?:deploy|signing|private|ssh|gpg|pgp)\s+keys?"
        # variables chosen by a secret's name: "every variable ending in _SECRET"
        r"|variables?\s+(?:whose\s+names?\s+)?(?:ending|named|called|starting|matching)\s+(?:in|with)?\s*[`'\"]?\*?_?[a-z_]*"
        r"(?:secret|token|key|password|passwd|credentials?))\b",
        CI,
    ),
    "convo_words": re.compile(
        r"\b(?:(?:full|entire|whole|complete|previous|prior|earlier|recent|last|all)\s+(?:\w+\s+)?"
        r"(?:conversation|chat|messages|turns|prompts|exchanges)|conversation\s+(?:history|so\s+far|context)"
        r"|chat\s+(?:history|log|transcript)|system\s+prompt|(?:your|the)\s+instructions\s+above"
        r"|(?:your|the)\s+(?:hidden|system|initial|original)\s+(?:prompt|instructions)"
        r"|everything\s+(?:the\s+user|they|you)\s+(?:has\s+|have\s+)?(?:said|says|wrote|written|typed|asked|shared))\b",
        CI,
    ),
    # the user's own words: "the user's last message", "the user's questions"
    "convo_user": re.compile(
        r"\buser'?s\s+(?:previous\s+|last\s+|latest\s+|current\s+)?(?:messages?|prompts?|quer(?:y|ies)|questions?)\b",
        CI,
    ),
    "read": re.compile(
        r"\b(?:read(?:ing)?|call|cat|open|load|fetch|get|grab|retrieve|collect|gather|extract|dump|copy|access|obtain"
        r"|exfiltrate|leak|send|upload|include|attach|pass|scan|search|list|look\s+(?:at|up|for)|print)\b"
        r"|\b(?:contents?|content|text|value)\s+of\b",
        CI,
    ),
    "exfil_param": re.compile(
        r"\b(?:pass|send|put|include|insert|append|attach|embed|add|copy|paste|forward|upload|post|transmit"
        r"|encode|leak|exfiltrate|provide|supply|write|fill|place|store|return)\b(?:[^.\n]|\.(?=\w)){0,80}?"
        r"\b(?:(?:as|in|into|to|inside|within|via|through|under)\s+(?:the\s+|a\s+|this\s+|its\s+|an\s+)?"
        r"(?!(?:given|specified|provided|same|requested|chosen|named)\s)['\"`]?[\w-]+(?:\.[\w-]+)*['\"`]?\s+"
        r"(?:parameter|param|argument|arg|field|property|key|variable|query\s+string"
        r"|header)s?|(?:as|in|into|inside)\s+(?:the\s+)?(?:title|subject|body|description|name|summary|memo|notes?"
        r"|comment|query|url|filename|header|input))\b",
        CI,
    ),
    "exfil_dest": re.compile(
        r"\b(?:sen[dt]|post|upload|forward|transmit|e-?mail|mail|leak|exfiltrate|report|sync|beacon|bcc|cc)"
        r"(?:s|ed|ing|ted|ded)?\b"
        r"(?:[^.\n]|\.(?=\w)){0,80}?\bto\s+(?:https?://|[\w.+-]+@[\w-]+\.[\w.]+|\+?\d[\d ()-]{7,}|our\s+(?:server|endpoint)"
        r"|the\s+following\s+(?:url|endpoint|address|server|number))|\bexfiltrat\w*"
        r"|\b(?:share|shares|shared|sharing|grant|grants|invite|invites)\b(?:[^.\n]|\.(?=\w)){0,80}?\b(?:to|with)\s+"
        r"[\w.+-]+@[\w-]+\.[\w.]+",
        CI,
    ),
    "exfil_quoted": re.compile(
        r"\b(?:as|in|into)\s+(?:the\s+)?['\"`]\w+['\"`]\s*(?:parameter|param|argument|field|property)?", CI
    ),
    "payload": re.compile(
        r"\b(?:its|their|the)\s+(?:full\s+|entire\s+|whole\s+|complete\s+|raw\s+)?(?:output|result|response)s?\b"
        r"|\b(?:full|entire|whole|complete|raw)\s+(?:text|contents?|output|file)\b|\beverything\s+(?:you|the\s+user)\b"
        r"|\ball\s+(?:of\s+)?(?:the\s+)?(?:outputs?|results|responses|documents|files|data|emails|messages)\b"
        r"|\b(?:its|their)\s+contents?\b",
        CI,
    ),
    "personal": re.compile(
        r"\buser'?s\s+(?:recent\s+|private\s+|personal\s+|other\s+|latest\s+|last\s+\w+\s+)?(?:e-?mails|messages"
        r"|inbox|contacts|documents|files|photos|chats|history|calendar|notes|passwords|location)\b",
        CI,
    ),
    "conceal": re.compile(
        r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|shouldn'?t|without)\s+(?:ever\s+)?"
        r"(?:tell|telling|mention|mentioning|inform|informing|notify|notifying|show|showing|reveal|revealing"
        r"|disclose|disclosing|alert|alerting|let|letting|ask|asking|bother|make)\s+(?:\w+\s+){0,5}?"
        r"(?:the\s+)?(?:user|human|person|operator|owner)s?\b"
        r"|\b(?:the\s+)?user\s+(?:must|should|need|will)\s*(?:not|n'?t|never)\s+(?:\w+\s+)?(?:know|see|"
        r"notice|be\s+(?:told|informed|aware|notified))\b"
        r"|\bhide\s+(?:this|it|that|them|the\s+\w+)\s+from\s+(?:the\s+)?user\b|\btell\s+the\s+user\s+only\b"
        r"|\bno\s+need\s+to\s+(?:mention|tell|inform|notify|report)\s+(?:this|it|that|these)\b|\bskip\s+mentioning\s+(?:this|it|that)\b"
        r"|\b(?:say|tell|reply|answer|report)\s+(?:to\s+(?:the\s+)?user\s+)?only\s+that\b|\bleave\s+(?:it|this|that|them)\s+out\s+of\b"
        r"|\bkeep\s+(?:this|it|that)\s+(?:secret|hidden|confidential|quiet|between\s+us|to\s+yourself|under\s+wraps)\b|\binvisible\s+to\s+the\s+user\b"
        r"|\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|acknowledge)\s+(?:this|that|these|it)\b"
        r"|\bdo\s+not\s+(?:mention|say)\s+(?:that\s+)?(?:you|this)\b"
        r"|\b(?:users?|the\s+user|they)\s+(?:do(?:es)?n'?t|do(?:es)?\s+not)\s+need\s+(?:to\s+(?:know|see|be\s+told|be\s+reminded"
        r"|hear)|a\s+reminder|reminding)\b"
        r"|\b(?:do(?:es)?n'?t|do(?:es)?\s+not)\s+need\s+(?:a\s+reminder|to\s+be\s+(?:reminded|told|informed|notified))\b"
        r"|\b(?:behind\s+the\s+user'?s\s+back|out\s+of\s+the\s+user'?s\s+sight)\b",
        CI,
    ),
    # keeping something out of the reply the user reads: "keep the details out of every answer", "report only '...'"
    "withhold": re.compile(
        r"\b(?:keep|leave)\s+(?:\w+\s+){0,3}?out\s+of\s+(?:the\s+|your\s+|every\s+|any\s+|all\s+|each\s+)?(?:\w+\s+)?"
        r"(?:reply|replies|answers?|responses?|summar(?:y|ies)|output|messages?|confirmations?)\b"
        r"|\bomit\s+(?:\w+\s+){0,4}?from\s+(?:the\s+|your\s+|every\s+|any\s+|all\s+)?(?:reply|replies|answers?|responses?"
        r"|summar(?:y|ies)|output|confirmations?)\b"
        r"|\b(?:report|say|reply|answer|respond|tell\s+(?:the\s+user|them))\s+(?:with\s+)?only\s+[\"'“«]"
        r"|\b(?:even\s+)?(?:when|if)\s+(?:the\s+user\s+|they\s+)?(?:is\s+|are\s+)?asked?\s+(?:directly|explicitly)\b"
        r"|\bchange\s+the\s+(?:subject|topic)\b(?!\s+(?:line|field|header|of|to|for)\b)"
        r"|\b(?:no\s+(?:reason|need)|not\s+(?:necessary|needed))\s+to\s+(?:bring\s+(?:this|it|that|these)\s+up|raise\s+(?:this|it"
        r"|that))\b",
        CI,
    ),
    "conceal_weak": re.compile(
        r"\b(?:silently|secretly|covertly|quietly|discreetly|stealthily|unbeknownst)\b|\bwithout\s+(?:asking|telling"
        r"|informing|notifying|confirmation)\b",
        CI,
    ),
    "precedence": re.compile(
        r"\b(?:always|only)\s+(?:use|call|invoke|run|prefer)\s+(?:this|the\s+\w+)\s+tool\s+(?:first|before|"
        r"instead|rather)\b"
        r"|\b(?:before|prior\s+to)\s+(?:you\s+(?:use|call|invoke|run)\s+|(?:using|calling|invoking|executing|running)\s+)"
        r"(?:any|all|every)\s+(?:other\s+)?(?:(?:mcp\s+)?tools?|servers?)\b"
        r"|\b(?:before|prior\s+to)\s+(?:any|all|every)\s+other\s+(?:(?:mcp\s+)?tools?|servers?)\b"
        r"|\b(?:before|prior\s+to|ahead\s+of)\s+(?:[\w'-]+\s+){1,5}?(?:any|all|every|each)\s+other\s+(?:[\w-]+\s+)?(?:tools?|servers?)\b"
        r"|\b(?:chosen|preferred|picked|selected|used|called|ranked)\s+(?:over|above|ahead\s+of)\s+(?:every|any|all|each)\s+other\s+"
        r"(?:[\w-]+\s+)?tools?\b"
        r"|\b(?:tools?\s+(?:from|of|by|on)\s+other\s+(?:vendors|servers|providers)|other\s+(?:vendors'?|servers'?|providers'?)\s+tools?)"
        r"\s+(?:are|is)\s+(?:now\s+)?(?:deprecated|disabled|unavailable|broken|unsafe|forbidden|not\s+allowed|outdated)\b"
        r"|\broute\s+(?:all|every|each|any)\s+(?:[\w-]+\s+)?(?:through|to|via)\s+(?:this|here)\b"
        r"|\b(?:replaces?|overrides?|supersedes?)\s+(?:whatever|what|anything|everything)\s+(?:the\s+)?other\s+tools?\b"
        r"|\b(?:a\s+different|another|any\s+other|other)\s+(?:[\w-]+\s+)?tools?\b[^.\n]{0,40}?\b(?:do\s+not|don'?t|never)\s+"
        r"(?:use|call|invoke)\s+(?:it|them)\b"
        r"|\b(?:supersedes?|overrides?|takes?\s+precedence\s+over|prevails?\s+over|has\s+priority\s+over)\s+"
        r"(?:(?:all|any|every|the)\s+)?(?:other\s+)?(?:connected\s+|mcp\s+)?(?:tools?|servers?)\b"
        r"|\b(?:instead\s+of|rather\s+than|in\s+place\s+of)\s+(?:any|all|every)\s+other\s+(?:[\w-]+\s+)?tools?\b"
        r"|\b(?:use|call|invoke|prefer)\s+this\s+tool\s+(?:instead\s+of|in\s+place\s+of|rather\s+than)\s+"
        r"(?!the\s+user\b)"
        r"|\b(?:call|use|invoke|run)\s+this\s+tool\s+(?:first|before\s+(?:any|all|every)\s+(?:other\s+)?tools?)\b"
        r"|\bthis\s+tool\s+(?:replaces|supersedes|overrides|takes\s+precedence\s+over|must\s+be\s+(?:called|"
        r"used|run)\s+(?:first|before))\b"
        r"|\b(?:do\s+not|don'?t|never)\s+(?:use|call|invoke)\s+(?:any\s+other|the\s+other|other)\s+tools?\b"
        r"|\b(?:never|not)\s+(?:to\s+)?(?:the\s+)?(?:[\w-]+\s+){0,2}?tools?\s+(?:of|from|on)\s+(?:other|another|any\s+other)\s+"
        r"(?:mcp\s+)?servers?\b"
        r"|\bmust\s+(?:always\s+)?(?:be\s+)?(?:called|used|invoked|run)\s+(?:first|before\s+(?:any|every|all))\b"
        r"|\b(?:whenever|every\s+time|each\s+time)\s+(?:you|the\s+"
        + _MODEL
        + r")\s+(?:use|call|invoke|run)s?\s+"
        r"(?:any|a|another)\s+(?:other\s+)?tool\b",
        CI,
    ),
    "shadow_when": re.compile(
        r"\b(?:when|whenever|every\s+time|each\s+time|if|once|after|before)\s+(?:you\s+(?:use|call|invoke|run)|a\s+call"
        r"\s+to|calling|using|invoking)\s+(?:the\s+)?" + _IDENT_RE + r"(?:\s+tool)?"
        r"|\b(?:when|whenever|every\s+time|each\s+time|if|once)\s+(?:the\s+)?(?:\(?[\w-]+\)?(?:\s+server'?s?)?\s+)?"
        + _IDENT_RE
        + r"(?:\s+tool)?\s+(?:(?:is|gets|was|has\s+been)\s+(?:used|called|invoked|run|executed|available|present)"
        r"|runs|exists|is\s+there)\b"
        r"|\b(?:when|whenever|every\s+time|each\s+time|if|once)\s+(?:the|a|an|any)\s+(?:[\w-]+(?:'s)?\s+){0,3}?tools?\s+"
        r"(?:is|are|gets?|was)\s+(?:used|called|invoked|run|executed)\b"
        r"|\b(?:when|whenever|every\s+time|each\s+time|if|once)\s+(?:any|another|an?\s+other)\s+(?:[\w-]+\s+)?(?:tool|server)s?\s+"
        r"[a-z]+s\b",
        CI,
    ),
    "shadow_the": re.compile(r"\b(?:the|any)\s+" + _IDENT_RE + r"\s+tool\b", CI),
    "shadow_other": re.compile(
        r"\bother\s+(?:mcp\s+)?servers?\b"
        r"|\b(?:by|from|through|via|with|using)\s+(?:another|any(?:\s+other)?|a\s+different)\s+(?:[\w-]+\s+)?(?:tools?|servers?)\b"
        r"|\b(?:every|each|all|any)\s+(?:e-?mails?|messages?)\s+(?:sent|posted|written|drafted)\b"
        r"|\b(?:all|any|every)\s+(?:outgoing|other)\s+(?:e-?mails?|messages|requests|calls|outputs|results|responses)\b",
        CI,
    ),
    "modify": re.compile(
        r"\b(?:(?:chang|replac|redirect|modif|rewrit|swap|alter|overrid|append|prepend|forward|rerout|substitut)\w*"
        r"|set|add|bcc|cc|must\s+(?:also\s+)?(?:be\s+)?sent|instead\s+send|also\s+send|send\s+(?:a\s+)?copy"
        r"|(?:must|should|shall|will)\s+(?:also|additionally)|(?:blind|carbon)\s+copy|make\s+the|copied\s+to)\b",
        CI,
    ),
    "tunnel": re.compile(
        r"\b(?:[\w-]{1,63}\.){0,8}(?:ngrok(?:-free)?\.(?:io|app|dev)|ngrok\.com/r|trycloudflare\.com|webhook\.site"
        r"|requestbin\.(?:com|net|io)|(?:[\w-]+\.)?m\.pipedream\.net|pipedream\.net|interact\.sh|interactsh\.com"
        r"|oast\.(?:pro|live|site|online|fun|me)|oastify\.com|burpcollaborator\.net|serveo\.net|serveousercontent"
        r"\.com|loca\.lt|localtunnel\.me|localhost\.run|lhr\.life|lhr\.rocks|pagekite\.me|beeceptor\.com"
        r"|hookbin\.com|requestcatcher\.com|postb\.in|dnslog\.cn|ceye\.io|canarytokens\.com|bore\.pub"
        r"|tunnelmole\.net|zrok\.io|pinggy\.(?:io|link)|telebit\.cloud|portmap\.io|requestrepo\.com)\b",
        CI,
    ),
    "command": re.compile(
        r"\b(?:curl|wget|iwr|invoke-webrequest)\b[^\n|;]{0,200}\|\s*(?:(?:sudo\s+)?(?:ba|z|da)?sh|iex|invoke-expression)\b"
        r"|\bbase64\s+(?:-d|--decode)\b[^\n]{0,40}\|\s*(?:ba)?sh\b|\brm\s+-(?:rf|fr)\s+(?:~|/|\$home|\*)"
        r"|\bchmod\s+(?:-r\s+)?(?:0?777|0?666)\s+(?:~|/)|\bnc\s+(?:-\w+\s+)*-e\s|/dev/tcp/|\bmkfifo\b"
        r"|\bpowershell\b[^\n]{0,40}-enc(?:odedcommand)?\b|\beval\s*\(\s*atob\b|\bpython3?\s+-c\s+['\"]import\s+"
        r"(?:socket|os|subprocess)"
        # a local file uploaded: curl -T / --upload-file / -F name=@file / --data @file, wget --post-file, netcat
        r"|\bcurl\b[^\n|;]{0,200}?\s(?:-t|--upload-file|(?:-f|--form)\s+['\"]?[\w-]+=@|(?:-d|--data(?:-binary)?)\s*['\"]?@)"
        r"|\bwget\b[^\n|;]{0,200}?\s--post-file\b"
        r"|\|\s*+(?:nc|ncat|netcat)\s++(?:-\w+\s+){0,4}[\w.:-]+\s+\d{2,5}\b"
        r"|\b(?:nc|ncat|netcat)\s++(?:-\w+\s+){0,4}[\w.:-]+\s+\d{2,5}\s*<"
        # a reverse shell with its options after the host and port; a crontab written from a pipe (persistence)
        r"|\b(?:nc|ncat|netcat)\s++(?:-\w+\s+){0,4}[\w.:-]+\s+\d{2,5}\s+(?:-\w+\s+){0,3}-[ec]\s"
        r"|\|\s*+crontab\s+-(?=\s|$|['\")])"
        r"|\b(?:scp|rsync|sftp)\b[^\n|;]{0,100}?(?:~/\.ssh|id_rsa|id_ed25519|\.env\b|\.aws|\.netrc)[^\n|;]{0,100}?[\w.-]+@[\w.-]+:"
        # in words: "download and run https://.../setup.sh"
        r"|\b(?:download|fetch|get)\s+(?:and|&|then)\s+(?:run|execute|exec)\s+(?:the\s+script\s+(?:at\s+)?)?https?://\S+?"
        r"\.(?:sh|ps1|py|bat|exe|pl)\b"
        # a download saved to a file and then made executable: the same attack in two steps
        r"|\b(?:curl|wget)\b[^\n]{0,200}?\s(?:-o|--output|--output-document)\s*\S+[^\n]{0,200}?\bchmod\s+(?:[ugoa]*\+x|0?7[0-7]{2})\b"
        # a package from an index over plain http or a host whose certificate is not checked; hooks redirected
        r"|\bpip3?\s+install\b[^\n|;]{0,160}?(?:(?:--(?:extra-)?index-url|-i)\s+http://|--trusted-host\b)"
        r"|\bgit\s+config\s+--global\s+core\.hookspath\b"
        # persistence: a line appended to the login keys or a shell's startup file; a program kept in a hidden,
        # home or temporary directory started detached, or made executable and run at once
        r"|(?:>>|\btee\s+-a)\s*['\"]?(?:~|\$home|/root|/home/\w+)/\.(?:ssh/authorized_keys2?|bashrc|bash_profile|zshrc"
        r"|zprofile|profile)\b|(?:>>|\btee\s+-a)\s*/etc/(?:crontab|sudoers|rc\.local|profile)\b"
        r"|\bnohup\s+(?:~|\$home|/tmp|/dev/shm|/var/tmp|\.{0,2}/?[\w/-]*/\.)[^\s`'\"]*[^\n`]{0,80}&"
        r"|\bchmod\s+(?:[ugoa]*\+x|0?7[0-7]{2})\s+((?:~|\$home|/tmp|/dev/shm|/var/tmp)/[^\s`'\";&]+)\s*(?:&&|;)\s*"
        r"(?:nohup\s+)?\1(?=[\s`'\";&|]|$)",
        CI,
    ),
    "frame": re.compile(
        r"\byou\s+(?:must|should|need\s+to|have\s+to|are\s+required\s+to|will\s+need\s+to)\b"
        r"|\b(?:do\s+not|don'?t|never)\s+ask\s+(?:\w+\s+)?again\b"
        r"|\bmust\s+(?:first|always|also)\b|\b(?:first|always|also),?\s+(?:read|send|call|use|include|pass"
        r"|get|fetch|open)\b|\bbefore\s+(?:using|calling|invoking|executing|running|responding|answering|you)\b"
        r"|\bmake\s+sure\s+(?:to|you)\b|\bbe\s+sure\s+to\b|\bdo\s+not\s+forget\b|\bit\s+is\s+(?:very\s+|"
        r"extremely\s+|absolutely\s+)?(?:important|crucial|essential|vital|critical|mandatory|required)\s+"
        r"(?:that|to)\b|\bmandatory\b|\botherwise\s+(?:the\s+)?(?:tool|it|this)\s+will\b|\bwill\s+(?:not\s+work"
        r"|fail|crash|break)\s+(?:unless|if\s+you\s+don)|\bto\s+work\s+properly\b"
        r"|\b(?:after|before)\s+(?:every|each)\s+(?:answer|response|reply|message|turn|request)\b",
        CI,
    ),
    "pressure": re.compile(
        r"\b(?:IMPORTANT|CRUCIAL|URGENT|CRITICAL|MANDATORY|WARNING|ATTENTION)\b(?=\s*[:!])"
        r"|\b(?:extremely|very|vitally|absolutely)\s+(?:important|crucial|urgent)\b|\bvery\s+very\b",
        0,
    ),
    "privacy": re.compile(
        r"\b(?:does\s+not|doesn'?t|do\s+not|don'?t)\s+care\s+about\s+privacy\b|\bprivacy\s+(?:is\s+not|isn'?t)\s+"
        r"(?:a\s+)?(?:concern|an\s+issue|important)\b|\bregardless\s+of\s+(?:privacy|permissions|visibility)\b"
        r"|\beven\s+(?:if|though)\s+(?:they\s+are\s+|it\s+is\s+)?private\b|\bput\s+everything\s+you\s+find\b"
        r"|\b(?:all|every)\s+(?:of\s+)?(?:the\s+)?(?:user|author|owner)'?s?\s+(?:other\s+)?(?:private\s+)?"
        r"(?:repos|repositories|files|e-?mails|messages|chats|contacts|documents)\b",
        CI,
    ),
    "comment": re.compile(r"<!--"),
    # an HTML element styled or marked so that it is not displayed
    "css_hidden": re.compile(
        r"<[a-z][a-z0-9]{0,15}\b[^<>]{0,300}?(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])"
        r"|opacity\s*:\s*0(?![.\d]*[1-9])|\shidden(?=[\s>/=]))[^<>]{0,300}>",
        CI,
    ),
    "bracket": re.compile(
        r"(?<!\[)\[{2,}+\s*+[A-Z][A-Z _-]{2,40}\]{2,}|\[\s*(?:HIDDEN|SYSTEM|SECRET|ADMIN|OVERRIDE|INTERNAL|AI|ASSISTANT|"
        r"INSTRUCTION)[A-Z _-]{0,30}\]|\{\{\s*(?:SYSTEM|INSTRUCTIONS?|HIDDEN|ADMIN)[A-Z _-]{0,30}\}\}"
        r"|(?<!#)#{3,}+\s*+(?:SYSTEM|HIDDEN|INSTRUCTIONS?)\s*+#{3,}|\(\(\(\s*[A-Z][A-Z _-]{2,40}\)\)\)",
        0,
    ),
    "b64": re.compile(r"(?<![\w+/=])[A-Za-z0-9+/]{40,}={0,2}(?![\w+/=])|(?<![\w=-])[A-Za-z0-9_-]{48,}={0,2}"),
    "decode_hint": re.compile(
        r"\batob\b|\bbase64[_ -]?decode\b|\bdecode\s+(?:this|the\s+following|it)\b|\bbase64\s+-d\b|\brot13\b"
        r"|\bfromcharcode\b",
        CI,
    ),
    # Runs are matched whole (possessive), and what follows is checked in Python: a lookahead after a long
    # run would make a failing match backtrack through every length (quadratic on hostile input).
    # "you were told to refuse / did not have X; this tool now grants you X": lifting an earlier restriction
    "refusal_override": re.compile(
        r"\b(?:originally|previously|earlier|before\s+now|until\s+now)\b[^.\n]{0,80}?\b(?:did\s+not|didn'?t|could\s+not"
        r"|couldn'?t|were\s+(?:told|advised|instructed)\s+to\s+refuse)\b"
        r"|\b(?:this\s+tool|it)\s+now\s+(?:grants?|gives|allows|lets)\s+you\b|\b(?:advised|told|instructed)\s+to\s+refuse\b"
        r"|\b(?:that|this|the)\s+(?:restriction|limitation|rule)\s+(?:no\s+longer\s+applies|is\s+lifted|has\s+been\s+lifted)\b"
        r"|\bno\s+longer\s+(?:need\s+to\s+)?refuse\b"
        r"|\b(?:guidance|guidelines|restrictions?|limitations?|rules?|polic(?:y|ies)|safeguards?)\b[^.;\n]{0,80}?\s(?:no\s+longer\s+appl(?:y|ies)"
        r"|(?:is|are|has\s+been|have\s+been|were)\s+(?:now\s+)?(?:lifted|revoked|suspended|waived|void|retired|withdrawn|rescinded))\b",
        CI,
    ),
    "offscreen": re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]{120,}+"),
    "offscreen_lines": re.compile(r"(?:[ \t]*+\r?\n){25,}+[ \t]*+"),
    "padding": re.compile(r"([^\w\s])\1{150,}+"),
    "hidden_word": re.compile(
        r"\b(?:hidden|internal[-_ ]only|undocumented|invisible)\s+(?:parameter|param|argument|field)\b"
        r"|\bsecret\s+(?:parameter|param|argument)\b"
        r"|\b(?:do\s+not|don'?t|never)\s+(?:ask|prompt)\s+(?:the\s+)?user\s+(?:for|about)\b"
        r"|\bfill\s+(?:this|it)\s+(?:in\s+)?(?:automatically|yourself)\b|\bthe\s+user\s+(?:does\s+not|doesn'?t)"
        r"\s+need\s+to\s+(?:know|see|provide)\b",
        CI,
    ),
    "imperative": re.compile(
        r"\b(?:always|never|must|ignore|call|read|send|include|pass|you\s+should|you\s+must|the\s+assistant)\b",
        CI,
    ),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _inflected(text: str) -> frozenset[str]:
    """Words and their -s/-ed/-ing/-ted/-ded forms (the regexes that use these accept them)."""
    return frozenset(w + end for w in text.split() for end in ("", "s", "ed", "ing", "ted", "ded"))


# Necessary conditions, checked before a signal's regex runs: a word (lowercase [a-z0-9]+ token) the regex
# cannot match without, or a character. The regex is the judge; the trigger only skips hopeless work.
# tests/scan/test_rules.py checks that triggers never hide a match (same signals with and without them).
_Trigger = tuple[frozenset[str], tuple[str, ...]]
TRIGGERS: dict[str, _Trigger | list[_Trigger] | None] = {
    "tag_markup": (frozenset(), ("<", "[", "#", "###", "<!--", *_OPENING_BRACKETS)),
    "tag_label": [(_words("system"), ()), (frozenset(), (":",))],
    "override": (
        _words(
            "ignore disregard forget override bypass instruction instructions now mode your unrestricted "
            "unfiltered uncensored jailbroken restrictions filters safety refuse confirmation approval permission "
            "consent check checks checking confirming verifying skip confirmations approvals consents "
            # the words the newer alternatives cannot match without (each needs one of these)
            "decline supersede supersedes overrides precedence priority outrank outranks discard drop bound "
            "constrained refusing refusal refuses refused guardrails safeguards filter over apply force valid binding"
        ),
        (),
    ),
    "address_note": [
        (
            _words(
                "note notes message messages attention instruction instructions reminder reminders tip tips"
            ),
            (),
        ),
        (_MODEL_WORDS, ()),
    ],
    "address_hey": [(_words("dear hey hi"), ()), (_MODEL_WORDS, ())],
    "address_must": [(_MODEL_WORDS | _words("language"), ()), (_words("must shall required has as"), ())],
    "address_vocative": [(_MODEL_WORDS, ()), (frozenset(), (",",))],
    "address_claim": [
        (_words("authorized authorised approved agreed consented granted allowed aware"), ()),
        (_words("has have are is"), ()),
        (_words("user they owner operator admin administrator developer"), ()),
    ],
    "address_stretch": [
        (
            _words(
                "approval approvals consent permission permissions authorization authorizations authorisation"
            ),
            (),
        ),
        (_words("cover covers apply applies extend extends"), ()),
    ],
    "secret_dot": (
        _words(
            "ssh aws pem p12 pfx keystore kdbx env netrc npmrc pypirc git kube docker gnupg cursor config bash zsh "
            "pgpass my s3cfg boto vault htpasswd terraformrc"
        ),
        (),
    ),
    "secret_id": (_words("rsa dsa ecdsa ed25519 idrsa iddsa idecdsa ided25519"), ()),
    "secret_word": (
        _words(
            "authorized mcp claude wallet phrase phrases private keychain secret secrets credentials ssh etc"
        ),
        (),
    ),
    "secret_browser": [
        (_words("cookies login web key3 key4 logins"), ()),
        (_words("chrome chromium edge brave firefox mozilla opera vivaldi"), ()),
        (frozenset(), ("/", "\\")),
    ],
    "secret_cookie": [(_words("cookie cookies"), ()), (_words("sqlite txt db browser"), ())],
    "secret_sa": [(_words("service"), ()), (_words("account"), ())],
    "secret_weak": (
        _words(
            "api apikey apikeys access accesstoken accesstokens auth authtoken authtokens bearer token tokens "
            "password passwords passphrase passphrases credential credentials secret secrets cookie cookies "
            "session env environment config configuration dotfile dotfiles key keypair keypairs private keys variable "
            "variables"
        ),
        (),
    ),
    "convo_words": (
        _words(
            "conversation chat messages turns prompts exchanges prompt instructions queries questions everything"
        ),
        (),
    ),
    "convo_user": [
        (_words("user users"), ()),
        (_words("message messages prompt prompts query queries question questions"), ()),
    ],
    "read": (
        _words(
            "read reading call cat open load fetch get grab retrieve collect gather extract dump copy access obtain "
            "exfiltrate leak send upload include attach pass scan search list look print contents content text "
            "value"
        ),
        (),
    ),
    "exfil_param": [
        (
            _words(
                "pass send put include insert append attach embed add copy paste forward upload post transmit "
                "encode leak exfiltrate provide supply write fill place store return"
            ),
            (),
        ),
        (
            _words(
                "parameter parameters param params argument arguments arg args field fields property properties "
                "key keys variable variables query header headers title subject body description name summary "
                "memo note notes comment url filename input"
            ),
            (),
        ),
    ],
    "exfil_dest": [
        (
            _inflected(
                "send sent post upload forward transmit email e mail leak exfiltrate report sync beacon bcc cc "
                "exfiltration"
            )
            | _words(
                "share shares shared sharing grant grants invite invites exfiltrating exfiltrated exfiltrates"
            ),
            (),
        ),
        (_words("to with exfiltrate exfiltrated exfiltration exfiltrating exfiltrates"), ()),
        (
            _words("http https our following exfiltrate exfiltrated exfiltration exfiltrating exfiltrates"),
            ("@", "+"),
        ),
    ],
    "exfil_quoted": [(_words("as in into"), ()), (frozenset(), ("'", '"', "`"))],
    "payload": None,  # support
    "personal": [
        (_words("user users"), ()),
        (
            _words(
                "emails email mails messages inbox contacts documents files photos chats history calendar notes "
                "passwords location"
            ),
            (),
        ),
    ],
    "conceal": [
        (
            _words(
                "user users human humans person persons operator operators owner owners they keep mention reveal "
                "disclose acknowledge say tell reply answer report leave reminder reminded told informed notified "
                "mentioning inform notify"
            ),
            (),
        ),
        (
            _words(
                "do don never must should shouldn without not t hide keep invisible only behind need mention "
                "reveal disclose acknowledge say leave no skip"
            ),
            (),
        ),
    ],
    "withhold": [
        (_words("out omit only asked ask change reason need necessary needed"), ()),
        (
            _words(
                "reply replies answer answers response responses summary summaries output message messages "
                "confirmation confirmations directly explicitly subject topic up raise"
            ),
            ("'", '"', "“", "«"),
        ),
    ],
    "conceal_weak": (
        _words("silently secretly covertly quietly discreetly stealthily unbeknownst without"),
        (),
    ),
    "precedence": (_words("tool tools first before server servers route"), ()),
    "shadow_when": [
        (_words("when whenever every each if once after before"), ()),
        (_words("tool tools server servers"), ("_", "'", '"', "`")),
    ],
    "shadow_the": [(_words("tool"), ()), (_words("the any"), ()), (frozenset(), ("_", "'", '"', "`"))],
    "shadow_other": [
        (_words("other outgoing another different any every each all"), ()),
        (
            _words(
                "server servers email emails mail mails messages requests calls outputs results responses tool tools "
                "message"
            ),
            (),
        ),
    ],
    "modify": None,  # a support signal: only looked for next to a reference to another tool
    "tunnel": (
        _words(
            "ngrok trycloudflare webhook requestbin pipedream interact interactsh oast oastify burpcollaborator "
            "serveo serveousercontent loca localtunnel localhost lhr pagekite beeceptor hookbin requestcatcher "
            "postb dnslog ceye canarytokens bore tunnelmole zrok pinggy telebit portmap requestrepo"
        ),
        (),
    ),
    "command": (
        _words(
            "curl wget iwr invoke base64 rm chmod nc ncat netcat dev mkfifo powershell eval python python3 crontab "
            "scp rsync sftp download pip pip3 git tee authorized bashrc bash zshrc zprofile profile etc nohup"
        ),
        (),
    ),
    "frame": (
        _words(
            "you must first always also before after make be do don it mandatory otherwise will properly never"
        ),
        (),
    ),
    "pressure": (
        _words(
            "important crucial urgent critical mandatory warning attention extremely very vitally absolutely"
        ),
        (),
    ),
    "privacy": (_words("care privacy regardless even put all every"), ()),
    "comment": (frozenset(), ("<!--",)),
    "css_hidden": [(_words("display visibility font size opacity hidden"), ()), (frozenset(), ("<",))],
    "bracket": (frozenset(), ("[", "{{", "###", "(((")),
    "b64": (frozenset({"\0long40"}), ()),
    "decode_hint": (_words("atob base64 decode rot13 fromcharcode"), ()),
    "refusal_override": [
        (
            _words(
                "originally previously earlier now refuse restriction limitation rule guidance guidelines "
                "restrictions limitations rules policy policies safeguard safeguards"
            ),
            (),
        ),
        (
            _words(
                "did didn could couldn refuse grant grants gives allows lets longer lifted revoked suspended waived void "
                "retired withdrawn rescinded"
            ),
            (),
        ),
    ],
    "offscreen": (frozenset({"\0wide"}), ()),
    "offscreen_lines": (frozenset({"\0lines"}), ()),
    "padding": (frozenset({"\0big"}), ()),
    "hidden_word": (_words("hidden secret internal undocumented invisible ask prompt fill need"), ()),
    "imperative": (
        _words("always never must ignore call read send include pass should you assistant the"),
        (),
    ),
}


def _conjuncts(spec: _Trigger | list[_Trigger] | None) -> tuple[frozenset[str], ...] | None:
    """A trigger as sets that must each meet the words present (one set: any of its words will do)."""
    if spec is None:
        return None
    parts = spec if isinstance(spec, list) else [spec]
    return tuple(words | frozenset(chars) for words, chars in parts)


_TRIGGER_SETS = {name: _conjuncts(t) for name, t in TRIGGERS.items()}

# Case-insensitive families run without re.IGNORECASE (several times faster) on an ASCII-lowered copy of
# the text, which keeps every offset; their patterns are written in lowercase.
LOWERED = frozenset(name for name, pattern in SIG.items() if pattern.flags & re.IGNORECASE)
SIG.update({name: re.compile(SIG[name].pattern, SIG[name].flags & ~re.IGNORECASE) for name in LOWERED})
ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

SUSPICIOUS_PARAM = re.compile(
    r"^(?:side_?note|notes?|feedback|context|extra|meta(?:data)?|debug|internal(?:_?only)?|hidden|secret|"
    r"bypass_?checks?|conversation|history|reasoning|thoughts?|summary|details|remarks?|comment|annotation|"
    r"trace|memo|aux\w*|tracking)$",
    CI,
)
_SENTENCE_END = re.compile(r"[.!?\n](?=\s|$)|[。！？]")  # not the dot inside a name or a domain
MAX_HITS = 20  # per signal per string: a string full of matches needs no more to be judged


# A virtual signal: present when any of its parts is.
VIRTUAL = {
    "exfil": ("exfil_param", "exfil_dest", "exfil_quoted"),
    "tag": ("tag_markup", "tag_label"),
    "address": (
        "address_note",
        "address_hey",
        "address_must",
        "address_vocative",
        "address_claim",
        "address_stretch",
    ),
    "secret": ("secret_dot", "secret_id", "secret_word", "secret_browser", "secret_cookie", "secret_sa"),
    "shadow_ref": ("shadow_when", "shadow_the", "shadow_other"),
    "convo": ("convo_words", "convo_user"),
}
# Signals that can raise a finding (alone or with support); the support signals are looked for only when
# one of these is present, so the common case (a plain description) costs a few regex passes.
ANCHORS = (
    *VIRTUAL["tag"],
    "override",
    *VIRTUAL["address"],
    *VIRTUAL["secret"],
    *VIRTUAL["exfil"],
    *VIRTUAL["convo"],
    "personal",
    "conceal",
    "conceal_weak",
    "withhold",
    "precedence",
    *VIRTUAL["shadow_ref"],
    "tunnel",
    "command",
    "privacy",
    "hidden_word",
    "comment",
    "css_hidden",
    "bracket",
    "b64",
    "offscreen",
    "offscreen_lines",
    "padding",
    "pressure",
    "refusal_override",
)
_FOLLOWED = re.compile(r"\s{0,64}\S")
# Signals whose match only counts when visible text follows it (padding that pushes something off screen).
POST = frozenset({"offscreen", "offscreen_lines", "padding", "address_vocative"})


def _keep(name: str, text: str, start: int, end: int) -> bool:
    """Checks done in Python after a match: padding must be followed by text; "Assistant, ..." must open
    a sentence."""
    if name == "address_vocative":
        before = text[max(0, start - 8) : start].rstrip()
        return not before or before[-1] in ".!?(:\n"
    return _FOLLOWED.match(text, end) is not None


# each anchor: its pattern, whether it runs on the lowered text, and the trigger sets after the first (the first
# picked it as a candidate)
_ANCHOR_TABLE = {name: (SIG[name], name in LOWERED, (_TRIGGER_SETS[name] or ())[1:]) for name in ANCHORS}
_ANCHOR_ORDER = {name: index for index, name in enumerate(ANCHORS)}
# word or mark -> the anchors whose first trigger set holds it (every anchor has a trigger)
_ANCHOR_INDEX: dict[str, list[str]] = {}
for _name in ANCHORS:
    _trigger = _TRIGGER_SETS[_name]
    assert _trigger is not None, _name
    for _token in _trigger[0]:
        _ANCHOR_INDEX.setdefault(_token, []).append(_name)
WORD_BYTES = bytes(c if (48 <= c <= 57 or 97 <= c <= 122) else 32 for c in range(256))
_MARK_STRINGS = ("<!--", "{{", "###", "(((", "<", "[", "#", "'", '"', "`", ":", "@", "+", "_", ",", "/", "\\")
_TOKEN_OR_MARK = re.compile(r"[a-z0-9]+|<!--|\{\{|###|\(\(\(|[<\[#'\"`:@+_,/\\" + _OPENING_BRACKETS + "]")
_WIDE_SPACE = re.compile("[\t\u00a0\u2000-\u200a\u3000]|        ")
_PAD_CHARS = tuple(c * 16 for c in "-=_.*#~+/\\|<>!?^%$&:;,'\"`")
IDENT = re.compile(r"[\w.:/@+-]{0,64}")


class Signals:
    """The signals of one string: anchors found at once, support signals looked for on first use."""

    def __init__(self, text: str, *, use_triggers: bool = True) -> None:
        self.text = text
        ascii_text = text.isascii()
        self.low = low = text.lower() if ascii_text else text.translate(ASCII_LOWER)
        self.use_triggers = use_triggers
        found: dict[str, list[tuple[int, int]]] = {}
        self.found = found
        present: set[str] = set()
        if use_triggers:
            if ascii_text:  # bytes.translate is a C table lookup: the fast way to split words
                present.update(low.encode().translate(WORD_BYTES).decode().split())
                present.update(mark for mark in _MARK_STRINGS if mark in text)
            else:
                present.update(_TOKEN_OR_MARK.findall(low))
            size = len(text)
            if size >= 24:
                longest = max(map(len, text.split()), default=0)
                if longest >= 24:
                    present.add("\0long")  # may hide an encoded payload (pipeline.scan.decode)
                if longest >= 40:
                    present.add("\0long40")
            if "\\u" in text or "\\x" in text:
                present.add("\0escaped")
            if text.count("%") >= 6:
                present.add("\0pct")
            if size >= 25 and text.count("\n") >= 25:
                present.add("\0lines")
            if size >= 120 and _WIDE_SPACE.search(text):
                present.add("\0wide")
            if size >= 150 and (size > 4096 or any(pad in text for pad in _PAD_CHARS)):
                present.add("\0big")
            index = _ANCHOR_INDEX
            candidates = {name for token in present if token in index for name in index[token]}
        else:
            candidates = set(ANCHORS)
        self.present = present
        anchors = []
        for name in sorted(candidates, key=_ANCHOR_ORDER.__getitem__):
            pattern, lowered, rest = _ANCHOR_TABLE[name]
            if (
                use_triggers
                and rest
                and (
                    present.isdisjoint(rest[0])
                    or (len(rest) > 1 and any(present.isdisjoint(p) for p in rest[1:]))
                )
            ):
                found[name] = []
                continue
            spans = []
            for match in pattern.finditer(low if lowered else text):
                if name in POST and not _keep(name, text, *match.span()):
                    continue
                spans.append(match.span())
                if len(spans) >= MAX_HITS:
                    break
            found[name] = spans
            if spans:
                anchors.append(name)
        self.anchors = anchors

    def get(self, name: str) -> list[tuple[int, int]]:
        found = self.found.get(name)
        if found is not None:
            return found
        spans: list[tuple[int, int]] = []
        if name in VIRTUAL:
            spans = sorted(span for part in VIRTUAL[name] for span in self.get(part))
        else:
            trigger = _TRIGGER_SETS[name] if self.use_triggers else None
            if trigger is None or all(not self.present.isdisjoint(part) for part in trigger):
                subject = self.low if name in LOWERED else self.text
                for match in SIG[name].finditer(subject):
                    if name in POST and not _keep(name, self.text, *match.span()):
                        continue
                    spans.append(match.span())
                    if len(spans) >= MAX_HITS:
                        break
        self.found[name] = spans
        return spans

    def __contains__(self, name: object) -> bool:
        return bool(self.get(str(name)))

    def __getitem__(self, name: str) -> list[tuple[int, int]]:
        return self.get(name)

    def all(self) -> dict[str, list[tuple[int, int]]]:
        """Every signal (support included), for tests and explanations."""
        names = [*SIG, *VIRTUAL]
        return {name: spans for name in names if (spans := self.get(name))}


def signals(text: str, *, use_triggers: bool = True) -> dict[str, list[tuple[int, int]]]:
    """Every signal's spans in `text` (at most MAX_HITS each)."""
    return Signals(text, use_triggers=use_triggers).all()


def same_sentence(text: str, start: int, end: int) -> bool:
    """No sentence ends between start and end."""
    return _SENTENCE_END.search(text, start, end) is None


def near(a: list[tuple[int, int]], b: list[tuple[int, int]], window: int) -> tuple[int, int] | None:
    """The first pair of spans within `window` characters of each other, merged."""
    for s1, e1 in a:
        for s2, e2 in b:
            if s2 - e1 <= window and s1 - e2 <= window:
                return min(s1, s2), max(e1, e2)
    return None
