"""Dialplan the ACD needs besides the hotline (no heavy imports: ``cc asterisk config`` renders it).

The queue handler rings an agent with ``Dial(AGENT,SECONDS,gU(cc-acd-answered^AGI-URL))``: when the agent
answers, Asterisk runs this subroutine on the agent's channel, which calls cc's ``acd_answered`` AGI
script so the agent is on_call during the conversation, then connects the call.
"""

from __future__ import annotations

ANSWERED_CONTEXT = "cc-acd-answered"


def render_acd_contexts() -> str:
    return (
        f"\n[{ANSWERED_CONTEXT}]\n"
        "; The ACD rings agents with the dial option gU(cc-acd-answered^AGI-URL): tells cc the agent answered.\n"
        "exten => s,1,AGI(${ARG1})\n"
        " same => n,Return()\n"
    )
