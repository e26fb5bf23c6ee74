"""An LLM Mesh completion model as the pre-labeler's client (DESIGN.md section 14, in DSS).

``Prelabeler`` (llm/prelabel.py) needs a ``model`` name and ``complete(messages, max_tokens)``
returning the reply's text, raising ``EndpointError`` when no usable reply came: this gives it
that over ``project.get_llm(id).new_completion()`` (dataikuapi/dss/llm.py: ``with_message(text,
role)`` per message, ``execute()``, then the response's ``success`` and ``text``). DSS holds the
provider's key: nothing of it passes here.

Versions differ (dataikuapi/dss/llm.py history): ``with_json_output`` exists from 13.2 and is used
when present (the prompt asks for JSON anyway); before 13.3 a failed completion's ``text`` is not
to be read, so ``success`` is checked first on every version.
"""
from __future__ import annotations

from labelloop.errors import first_line
from labelloop.llm.client import EndpointError


class MeshCompleter:
    """Chat completions of the LLM Mesh model ``llm_id`` of the current project (``platform``: DSSPlatform)."""

    def __init__(self, platform, llm_id: str):
        self.platform, self.model = platform, llm_id

    def complete(self, messages: list, max_tokens: int = 50) -> str:
        """The model's reply to ``messages``; a failed completion is retried later, a refused request is not."""
        query = self.platform.llm(self.model).new_completion()
        for message in messages:
            query.with_message(message["content"], role=message["role"])
        # settings keys as dataikuapi's own LangChain wrapper sends them (dataikuapi/dss/langchain/llm.py)
        query.settings.update({"temperature": 0, "maxOutputTokens": max_tokens})
        if hasattr(query, "with_json_output"):
            query.with_json_output()
        try:
            response = query.execute()
        except Exception as error:  # noqa: BLE001 - dataikuapi raises plain exceptions for a refused request
            raise EndpointError(f"The LLM Mesh refused the completion request for '{self.model}' "
                                f"({first_line(error)}).", retry=False) from None
        if not response.success:
            raise EndpointError(f"The LLM Mesh model '{self.model}' failed to answer.", retry=True)
        return response.text or ""
