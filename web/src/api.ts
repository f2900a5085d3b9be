// The few Cargo API calls the playground makes besides the stream (which useChat does).
import type { UIMessage } from "ai";

export type Status = "pending" | "generating" | "success" | "error" | "cancelling" | "cancelled";

export interface Usage {
  creditsUsedCount?: number;
  tokensUsedCount?: number;
}

export interface MessageMeta {
  usage?: Usage;
  finishReason?: string;
  status?: Status;
  errorMessage?: string | null;
}

export type ChatMessage = UIMessage<MessageMeta>;

export interface Chat {
  uuid: string;
  name: string | null;
  agentUuid: string | null;
  releaseUuid: string | null;
  trigger: { type: string };
  activeStreamUuid: string | null;
  createdAt: string;
  lastMessage: { uuid: string; status: Status; errorMessage: string | null } | null;
}

export interface Agent {
  uuid: string;
  name: string;
  deployedRelease: { uuid: string; version: string | null } | null;
}

interface ServerMessage {
  uuid: string;
  type: "user" | "assistant";
  status: Status;
  errorMessage: string | null;
  parts: ChatMessage["parts"];
  usage: Usage | null;
  meta: { finishReason?: string } | null;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The `errorMessage` of a Cargo error body, else the text as it came. */
export function errorText(raw: string): string {
  try {
    const body = JSON.parse(raw) as { errorMessage?: unknown };
    if (typeof body.errorMessage === "string") return body.errorMessage;
  } catch {
    // not JSON: show it as it is
  }
  return raw;
}

async function call<T>(token: string, path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(path, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...init.headers },
  });
  const text = await response.text();
  if (!response.ok) {
    let reason: string | undefined;
    try {
      reason = (JSON.parse(text) as { reason?: string }).reason;
    } catch {
      reason = undefined;
    }
    throw new ApiError(errorText(text) || response.statusText, response.status, reason);
  }
  return (text ? JSON.parse(text) : {}) as T;
}

export async function listChats(token: string): Promise<Chat[]> {
  return (await call<{ chats: Chat[] }>(token, "/v1/ai/chats/list?limit=100")).chats;
}

export async function getChat(token: string, chatUuid: string): Promise<Chat> {
  return (await call<{ chat: Chat }>(token, `/v1/ai/chats/${chatUuid}`)).chat;
}

export async function renameChat(token: string, chatUuid: string, name: string): Promise<void> {
  await call(token, `/v1/ai/chats/${chatUuid}`, { method: "PUT", body: JSON.stringify({ name }) });
}

export async function listAgents(token: string): Promise<Agent[]> {
  return (await call<{ agents: Agent[] }>(token, "/v1/ai/agents/list")).agents;
}

export async function cancelMessages(token: string, uuids: string[]): Promise<void> {
  await call(token, "/v1/ai/messages/cancel", { method: "POST", body: JSON.stringify({ uuids }) });
}

function toUIMessage(m: ServerMessage): ChatMessage {
  return {
    id: m.uuid,
    role: m.type,
    parts: m.parts,
    metadata: {
      usage: m.usage ?? undefined,
      status: m.status,
      errorMessage: m.errorMessage,
      finishReason: m.meta?.finishReason,
    },
  };
}

/** A chat's messages, oldest first. An assistant message still running is left out: resuming
 * the stream replays it from its start. */
export async function listMessages(token: string, chatUuid: string): Promise<ChatMessage[]> {
  const { messages } = await call<{ messages: ServerMessage[] }>(
    token,
    `/v1/ai/messages/list?chatUuid=${chatUuid}&limit=500`,
  );
  return messages
    .filter((m) => !(m.type === "assistant" && (m.status === "pending" || m.status === "generating")))
    .map(toUIMessage);
}
