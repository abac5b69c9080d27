"""Requests to the client during a call: ``sample`` (ask its LLM) and ``elicit`` (ask its
user to fill in a form). Both wait for the answer within the call's time limit and raise
``ClientError`` when there is no client to ask (in event hooks, with a client lacking the
capability, and natively unless a test installed an answer with ``set_sample_for_test`` /
``set_elicit_for_test``)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

from . import _host, _schema
from ._core import Block, Message, Text

if _host.WIT:
    from wit_world.imports import chat as _wit_chat
    from wit_world.imports import client as _wit_client
    from componentize_py_types import Err as _Err

    from . import _wit


class ClientError(Exception):
    """Why a request to the client got no answer: ``kind`` is ``unavailable``,
    ``invalid_request`` or ``rejected``."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass
class SamplingResponse:
    """The client's completion."""

    content: Block
    model: str
    role: str = "assistant"
    stop_reason: Optional[str] = None

    @property
    def text(self) -> Optional[str]:
        return self.content.text if isinstance(self.content, Text) else None


@dataclass
class ElicitResponse:
    """What the user did (``accept``, ``decline``, ``cancel``) and, on accept, the values
    (a dict, or an instance of the dataclass / TypedDict the form was made from)."""

    action: str
    content: Any = None

    @property
    def accepted(self) -> bool:
        return self.action == "accept"


_sample_for_test: Optional[Callable] = None
_elicit_for_test: Optional[Callable] = None


def set_sample_for_test(answer: Optional[Callable]) -> None:
    """Natively, answers ``sample`` with ``answer(request: dict)`` → SamplingResponse or str."""
    global _sample_for_test
    _sample_for_test = answer


def set_elicit_for_test(answer: Optional[Callable]) -> None:
    """Natively, answers ``elicit`` with ``answer(message, schema)`` → ElicitResponse or a
    dict (taken as accepted values)."""
    global _elicit_for_test
    _elicit_for_test = answer


def _messages(messages: Union[str, Message, Sequence[Union[str, Message]]]) -> list:
    if isinstance(messages, (str, Message)):
        messages = [messages]
    return [m if isinstance(m, Message) else Message.user(m) for m in messages]


def sample(messages: Union[str, Message, Sequence[Union[str, Message]]], *, max_tokens: int,
           system_prompt: Optional[str] = None, temperature: Optional[float] = None,
           stop_sequences: Sequence[str] = (), model_hints: Sequence[str] = (),
           cost_priority: Optional[float] = None, speed_priority: Optional[float] = None,
           intelligence_priority: Optional[float] = None) -> SamplingResponse:
    """Asks the client's LLM for one completion of ``messages`` (a str is one user message)."""
    msgs = _messages(messages)
    wants_prefs = bool(model_hints) or any(
        p is not None for p in (cost_priority, speed_priority, intelligence_priority))
    if not _host.WIT:
        if _sample_for_test is None:
            raise ClientError("unavailable", "there is no client natively; a test answers "
                              "with client.set_sample_for_test(...)")
        answer = _sample_for_test({
            "messages": msgs, "max_tokens": max_tokens, "system_prompt": system_prompt,
            "temperature": temperature, "stop_sequences": list(stop_sequences),
            "model_hints": list(model_hints),
        })
        return SamplingResponse(Text(answer), "test") if isinstance(answer, str) else answer
    prefs = None
    if wants_prefs:
        prefs = _wit_client.ModelPreferences(list(model_hints), cost_priority, speed_priority,
                                             intelligence_priority)
    request = _wit_client.SamplingRequest(
        [_wit.message(m) for m in msgs], system_prompt, int(max_tokens), temperature,
        list(stop_sequences), prefs)
    try:
        response = _wit_client.sample(request)
    except _Err as error:
        raise _client_error(error.value) from None
    role = "user" if response.role == _wit_chat.Role.USER else "assistant"
    return SamplingResponse(_wit.from_block(response.content), response.model, role,
                            response.stop_reason)


def elicit(message: str, schema: Any) -> ElicitResponse:
    """Asks the client's user for input. ``schema`` is a flat JSON Schema object (dict) or a
    dataclass / TypedDict whose fields are str, int, float, bool or Literal/Enum."""
    form_type = None
    if isinstance(schema, type):
        form_type = schema
        builder = _schema.SchemaBuilder()
        schema = builder.object_schema(schema)
        schema.pop("additionalProperties", None)
    if not _schema.is_object_schema(schema):
        raise ClientError("invalid_request", "the elicitation schema must be a JSON Schema "
                          "object with \"type\": \"object\"")
    if not _host.WIT:
        if _elicit_for_test is None:
            raise ClientError("unavailable", "there is no client natively; a test answers "
                              "with client.set_elicit_for_test(...)")
        answer = _elicit_for_test(message, schema)
        if isinstance(answer, dict):
            answer = ElicitResponse("accept", answer)
    else:
        try:
            response = _wit_client.elicit(message, json.dumps(schema))
        except _Err as error:
            raise _client_error(error.value) from None
        action = {_wit_client.ElicitAction.ACCEPT: "accept",
                  _wit_client.ElicitAction.DECLINE: "decline"}.get(response.action, "cancel")
        content = json.loads(response.content) if response.content else None
        answer = ElicitResponse(action, content)
    if form_type is not None and answer.action == "accept" and isinstance(answer.content, dict):
        try:
            answer = dataclasses.replace(
                answer, content=_schema.decode(form_type, answer.content, ""))
        except _schema.ArgumentError as error:
            raise ClientError("rejected", f"the user's answer does not fit the form: {error}")
    return answer


def _client_error(value: Any) -> ClientError:
    kind = {"ClientError_Unavailable": "unavailable",
            "ClientError_InvalidRequest": "invalid_request"}.get(type(value).__name__, "rejected")
    return ClientError(kind, value.value)
