"""Dialplan the ACD needs besides the hotline (no heavy imports: ``cc asterisk config`` renders it).

The queue handler rings an agent with ``Dial(AGENT,SECONDS,gU(cc-acd-answered^ANSWERED-URL^GONE-URL))``:
when the agent answers, Asterisk runs this subroutine on the agent's channel, which calls cc's
``acd_answered`` AGI script so the agent is on_call during the conversation, pushes a hangup handler
(extension ``gone``) that tells cc when the agent's leg hangs up (a transfer, or the end of the call: the
agent wraps up even when the caller's side goes on elsewhere), then connects the call. Click-to-dial
puts the same hangup handler on the agent's channel through Originate (``hangup_handler_variable``).
"""

from __future__ import annotations

ANSWERED_CONTEXT = "cc-acd-answered"
GONE_EXTEN = "gone"


def hangup_handler_variable(url: str) -> tuple[str, str]:
    """The Originate variable that pushes the ``gone`` hangup handler calling ``url`` (quoted: AMI splits a
    Variable header's value at commas outside quotes)."""
    return "CHANNEL(hangup_handler_push)", f'"{ANSWERED_CONTEXT},{GONE_EXTEN},1({url})"'


def render_acd_contexts() -> str:
    return (
        f"\n[{ANSWERED_CONTEXT}]\n"
        "; The ACD rings agents with the dial option gU(cc-acd-answered^AGI-URL^GONE-URL): tells cc the agent\n"
        "; answered, and has cc told when the agent's leg hangs up.\n"
        "exten => s,1,AGI(${ARG1})\n"
        ' same => n,GotoIf($["${ARG2}" = ""]?done)\n'
        f" same => n,Set(CHANNEL(hangup_handler_push)={ANSWERED_CONTEXT},{GONE_EXTEN},1(${{ARG2}}))\n"
        " same => n(done),Return()\n"
        "; Hangup handler on an agent's channel: the agent's leg of an ACD or click-to-dial call is over.\n"
        f"exten => {GONE_EXTEN},1,AGI(${{ARG1}})\n"
        " same => n,Return()\n"
    )
