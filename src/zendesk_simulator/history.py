"""Each generated ticket's history: its audits, drawn once from the seed and ticket id.

One history per ticket is the single source of the ticket's audits (Ticket Audits API), its
items in the ticket event export (``incremental/ticket_events``), its ``updated_at`` (the last
audit's time), its comments (each comment sits in one audit and carries that audit's id and
time), its satisfaction rating and its followers. Nothing else invents these facts, so the
four views always agree.

The history is drawn in two layers, both pure functions of (seed, ticket id, the compact
facts drawn at start-up):

- ``draw_skeleton``: the structure, cheap enough to draw for every ticket when the event
  export's time index is built (about 20 µs a ticket): which audits exist, in which order, at
  which second, who made them, which comment each holds, and the status, assignee and group
  after each one.
- the account's audit renderer (``generator.GeneratedAccount.ticket_audits``): the JSON of
  every event, drawn on demand for one ticket at a time.

The event mix (api-reference.md, "Ticket Audits": "An update can consist of one or more
events. Examples: the value of a ticket field was changed, a new comment was added, tags were
added or removed, a notification was sent"; the Ticket Audit events reference it links for
the event kinds Create, Change, Comment, Notification, Satisfaction rating, Follower change,
Macro reference):

=========================  ====================================================================
audit                      events
=========================  ====================================================================
creation                   the description (Comment), a Create per property set (subject,
                           status, priority, type, requester, group, tags, custom fields),
                           trigger Notifications to the requester and to the agents
assignment (55 % its own   Change of assignee, group and status new → open; Notification to
audit, else folded into    the assignee
the first agent reply)
comment                    Comment; an agent's public reply sets pending (60 %) or open and
                           notifies the requester, sometimes through a macro (macro
                           reference); a requester's reply reopens a pending or on-hold
                           ticket and notifies the assignee; internal notes change nothing
field edit (45 % per gap   Change of priority, tags or type, without a comment
between comments)
group transfer (15 %)      Change of group and assignee
follower added (15 %)      Follower change
pending reminder (35 % of  automation Notification to the requester
pending replies)
status change              the agent's last word when the replies did not leave the final
                           status (hold, pending, open, or solved without a comment)
survey offered             automation: satisfaction Change unoffered → offered, Notification
rating                     the requester's Satisfaction rating and satisfaction Change
close                      automation "Close ticket 4 days after status is set to solved"
=========================  ====================================================================

With the default five comments a ticket, about half of all audits hold no comment, so a
1,000-audit page of the event export carries about 500 comments, not 1,000: the density on
which any bulk reader's cost depends. Zendesk publishes no ratio; this mix is deliberately
conservative (real accounts add SLA, side-conversation and messaging events on top).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .common import DAY, mix

# Audit ids of generated tickets: AUDIT_BASE + ticket id * STRIDE + position in the history.
STRIDE = 1024
# (at most about three audits per comment: a generated ticket holds at most 250 comments)

# audit kinds
CREATE, COMMENT, ASSIGN, EDIT, TRANSFER, FOLLOW, REMIND, STATUS, SURVEY, RATING, CLOSE = range(11)
KIND_NAMES = (
    "create",
    "comment",
    "assign",
    "edit",
    "transfer",
    "follow",
    "remind",
    "status",
    "survey",
    "rating",
    "close",
)
# fields an edit changes
F_PRIORITY, F_TAGS, F_TYPE = 0, 1, 2
# satisfaction outcome
SAT_UNOFFERED, SAT_OFFERED, SAT_GOOD, SAT_BAD = 0, 1, 2, 3
SAT_SCORES = ("unoffered", "offered", "good", "bad")
# statuses by index (common.STATUSES)
NEW, OPEN, PENDING, HOLD, SOLVED, CLOSED = range(6)
# Step.detail bits of a comment audit
D_ASSIGNS = 1  # the first agent reply also assigns the ticket
D_MACRO = 2  # the reply was written with a macro


class Step(NamedTuple):
    """One audit of a generated ticket."""

    ts: int
    kind: int
    actor: int  # user index; -1 for Zendesk itself (automations)
    comment: int  # position of the comment the audit holds, or -1
    public: bool  # of that comment
    status: int  # the ticket's status after this audit
    assignee: int  # user index after this audit, -1 for none
    group: int  # group index after this audit, -1 for none
    detail: int  # EDIT: the field; COMMENT: D_* bits


class TicketFacts(NamedTuple):
    """What the start-up draw fixed for a ticket (its final state)."""

    tid: int
    created: int
    updated: int
    status: int
    n_comments: int
    requester: int
    submitter: int
    submitter_is_agent: bool
    assignee: int
    group: int
    public_comment_one: bool = False  # the seeded searchable phrase sits in comment 1


@dataclass(frozen=True)
class Skeleton:
    steps: list[Step]
    satisfaction: int
    follower: int  # user index of the agent who followed the ticket, or -1
    comment_steps: list[int]  # comment position → index of its audit in ``steps``


_MASK = (1 << 64) - 1


class _Draws:
    """A cheap deterministic stream of floats in [0, 1): a 64-bit LCG seeded through the
    SplitMix64 finaliser. ``random.Random(seed)`` costs ~20 µs to seed, more than a whole
    skeleton; this costs under 1 µs."""

    __slots__ = ("state",)

    def __init__(self, seed: int, key: int) -> None:
        z = (seed * 0x9E3779B97F4A7C15 + key * 0xD1B54A32D192ED03 + 0x632BE59BD9B4E019) & _MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        self.state = z ^ (z >> 31)

    def random(self) -> float:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & _MASK
        return (self.state >> 11) * (1.0 / 9007199254740992)


def macro_applied(seed: int, audit_id: int, n_macros: int) -> int:
    """The macro (index) an agent reply marked ``D_MACRO`` was written with."""
    return mix(seed, 14, audit_id) % n_macros


def _field(x: float) -> int:
    return F_PRIORITY if x < 0.35 else F_TAGS if x < 0.8 else F_TYPE


def draw_skeleton(seed: int, f: TicketFacts, agents: Sequence[int], n_groups: int) -> Skeleton:
    """The ticket's audits, from creation to its final state at ``f.updated``.

    Written for speed (it runs for every ticket when the event export's index is built):
    plain tuples and local variables, one ``random()`` per decision.
    """
    rand = _Draws(seed, f.tid).random
    final = f.status
    n_agents = len(agents)
    requester = f.requester

    sat = SAT_UNOFFERED
    if final >= SOLVED:
        roll = rand()
        sat = (
            SAT_OFFERED
            if roll < 0.35
            else SAT_UNOFFERED
            if roll < 0.5
            else SAT_GOOD
            if roll < 0.85
            else SAT_BAD
        )
    follower = int(agents[int(rand() * n_agents)]) if rand() < 0.15 else -1

    # The (assignee, group) pairs the ticket goes through: assignment, then transfers.
    chain: list[tuple[int, int]] = []
    if final != NEW:
        chain.append((f.assignee, f.group))
        if n_groups > 1 and f.assignee >= 0:
            for p in (0.15, 0.03):
                if rand() < p:
                    a = int(agents[int(rand() * n_agents)])
                    chain.insert(0, (a, a % n_groups))
    last_link = len(chain) - 1
    # body audits as (kind, actor, comment, public, status, assignee, group, detail)
    body: list[tuple[int, int, int, bool, int, int, int, int]] = []
    append = body.append
    status = NEW
    link = -1  # position in chain; -1 before assignment
    cur_a = -1
    cur_g = chain[0][1] if chain and rand() < 0.5 else -1  # routed to a group on creation

    append((CREATE, f.submitter, 0, True, NEW, -1, cur_g, 0))
    n = f.n_comments
    follow_gap = int(rand() * n) if follower >= 0 else -1
    for gap in range(n):
        if link >= 0 and link < last_link and rand() < 0.3:
            link += 1
            cur_a, cur_g = chain[link]
            append((TRANSFER, cur_a, -1, True, status, cur_a, cur_g, 0))
        if rand() < 0.45:
            actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
            append((EDIT, actor, -1, True, status, cur_a, cur_g, _field(rand())))
        if gap == follow_gap:
            append((FOLLOW, follower, -1, True, status, cur_a, cur_g, 0))
        k = gap + 1
        if k >= n:
            break
        if final == NEW:
            if rand() < 0.3:  # an internal note on an untouched ticket keeps it new
                append((COMMENT, int(agents[int(rand() * n_agents)]), k, False, status, -1, cur_g, 0))
            else:
                append((COMMENT, requester, k, True, status, -1, cur_g, 0))
            continue
        if k % 2 == 0 and rand() >= 0.2:  # the requester writes
            if status in (PENDING, HOLD):
                status = OPEN
            append((COMMENT, requester, k, True, status, cur_a, cur_g, 0))
            continue
        public = (k == 1 and f.public_comment_one) or rand() >= 0.25
        detail = 0
        if link < 0:
            link = 0
            cur_a, cur_g = chain[0]
            status = OPEN
            if rand() < 0.45:
                detail = D_ASSIGNS
            else:
                actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
                append((ASSIGN, actor, -1, True, status, cur_a, cur_g, 0))
        if public:
            status = PENDING if rand() < 0.6 else OPEN
            if rand() < 0.2:
                detail |= D_MACRO
        actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
        append((COMMENT, actor, k, public, status, cur_a, cur_g, detail))
        if public and status == PENDING and rand() < 0.35:
            append((REMIND, -1, -1, True, status, cur_a, cur_g, 0))

    if final != NEW:
        if link < 0:
            link = 0
            cur_a, cur_g = chain[0]
            status = OPEN
            actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
            append((ASSIGN, actor, -1, True, status, cur_a, cur_g, 0))
        while link < last_link:
            link += 1
            cur_a, cur_g = chain[link]
            append((TRANSFER, cur_a, -1, True, status, cur_a, cur_g, 0))
        target = SOLVED if final >= SOLVED else final
        last = body[-1]
        if target == SOLVED and last[0] == COMMENT and last[3] and last[1] != requester and rand() < 0.6:
            status = SOLVED
            body[-1] = (*last[:4], SOLVED, *last[5:])  # the last reply solves the ticket
        elif status != target:
            status = target
            actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
            append((STATUS, actor, -1, True, status, cur_a, cur_g, 0))

    # --- times: creation at ``created``, the last audit at ``updated``
    span = max(0, f.updated - f.created)
    tail: list[tuple[int, int]] = []  # (kind, actor)
    if sat != SAT_UNOFFERED:
        tail.append((SURVEY, -1))
    if sat in (SAT_GOOD, SAT_BAD):
        tail.append((RATING, requester))
    if final == CLOSED:
        tail.append((CLOSE, -1))
    if final == CLOSED:
        tail_span = min(4 * DAY, span // 2)
    elif sat in (SAT_GOOD, SAT_BAD):
        tail_span = min(36 * 3600, span // 3)
    elif sat == SAT_OFFERED:
        tail_span = min(DAY, span // 3)
    else:
        tail_span = 0
    body_end = f.updated - tail_span
    body_span = body_end - f.created
    if len(body) == 1 and body_span > 0:  # the ticket changed after its creation: a field edit
        actor = cur_a if cur_a >= 0 else int(agents[int(rand() * n_agents)])
        append((EDIT, actor, -1, True, status, cur_a, cur_g, _field(rand())))
    m = len(body)
    created = f.created
    steps: list[Step] = []
    if m == 1:
        steps.append(Step(created, *body[0]))
    else:
        marks = [0.0]
        total = 0.0
        for _ in range(m - 1):
            total += rand() + 0.05
            marks.append(total)
        scale = body_span / total
        for j in range(m - 1):
            steps.append(Step(created + int(scale * marks[j]), *body[j]))
        steps.append(Step(body_end, *body[-1]))
    for n_tail, (kind, actor) in enumerate(tail, start=1):
        if kind == CLOSE:
            status = CLOSED
        ts = body_end + tail_span * n_tail // len(tail)
        steps.append(Step(ts, kind, actor, -1, True, status, cur_a, cur_g, 0))
    assert len(steps) < STRIDE, f"ticket {f.tid}: {len(steps)} audits"
    comment_steps = [j for j, s in enumerate(steps) if s.comment >= 0]
    return Skeleton(steps, sat, follower, comment_steps)
