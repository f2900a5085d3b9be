// One chat: its messages, the streamed turn (useChat over the Cargo stream endpoints), the composer.
import { useChat } from "@ai-sdk/react";
import { DefaultChatTransport } from "ai";
import { type FormEvent, type KeyboardEvent, type ReactNode, useEffect, useMemo, useRef, useState } from "react";

import { type ChatMessage, cancelMessages, errorText, getChat, renameChat } from "./api";
import { formatCredits, MessageView } from "./MessageView";
import { isUuid, uuid4 } from "./token";

/** What a new chat runs on: the built-in model, an agent's deployed release, or its draft. */
export interface AgentChoice {
  agentUuid: string | null;
  draft: boolean;
}

interface Props {
  chatUuid: string;
  initialMessages: ChatMessage[];
  token: string;
  /** For a chat not created yet: the agent its first message names. */
  choice: AgentChoice | null;
  /** Re-attach to the chat's running turn, if any (a chat not created yet has none). */
  resume: boolean;
  onTurnChanged: () => void;
  onUnauthorized: (message: string) => void;
}

export function ChatView({ chatUuid, initialMessages, token, choice, resume, onTurnChanged, onUnauthorized }: Props): ReactNode {
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const choiceRef = useRef(choice);
  choiceRef.current = choice;
  const unauthorizedRef = useRef(onUnauthorized);
  unauthorizedRef.current = onUnauthorized;
  const [input, setInput] = useState("");
  const [stopping, setStopping] = useState(false);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const logRef = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  // A chat this page creates is named after its first message once the turn has stored it.
  const nameOnFinish = useRef<string | null>(null);

  const transport = useMemo(
    () =>
      new DefaultChatTransport<ChatMessage>({
        api: "/v1/ai/messages/stream",
        headers: () => ({ Authorization: `Bearer ${tokenRef.current}` }),
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (response.status === 401) unauthorizedRef.current(errorText(await response.clone().text()));
          return response;
        },
        // The server keeps the history: send only the new message, and the agent of a new chat.
        prepareSendMessagesRequest: ({ id, messages, trigger, messageId, headers }) => {
          const agent = choiceRef.current;
          const extra: Record<string, unknown> = {};
          if (agent?.agentUuid) {
            extra.agentUuid = agent.agentUuid;
            if (agent.draft) extra.chatTrigger = { type: "draft" };
          }
          return { headers, body: { id, messages: messages.slice(-1), trigger, messageId, ...extra } };
        },
        prepareReconnectToStreamRequest: ({ id, headers }) => ({ api: `/v1/ai/chats/${id}/stream`, headers }),
      }),
    [],
  );

  const { messages, sendMessage, status, error, clearError, stop } = useChat<ChatMessage>({
    id: chatUuid,
    messages: initialMessages,
    transport,
    generateId: uuid4,
    resume,
    experimental_throttle: 50,
    onFinish: () => {
      setStopping(false);
      const name = nameOnFinish.current;
      nameOnFinish.current = null;
      if (name === null) onTurnChanged();
      else
        renameChat(tokenRef.current, chatUuid, name)
          .catch(() => undefined)
          .finally(onTurnChanged);
    },
    onError: () => setStopping(false),
  });

  const busy = status === "submitted" || status === "streaming";

  useEffect(() => {
    inputRef.current?.focus();
  }, [chatUuid]);

  // Follow the answer as it streams, unless the reader scrolled up.
  useEffect(() => {
    const log = logRef.current;
    if (log && atBottom.current) log.scrollTop = log.scrollHeight;
  });
  const onScroll = () => {
    const log = logRef.current;
    if (log) atBottom.current = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
  };

  useEffect(() => {
    if (status === "submitted") onTurnChanged();
  }, [status, onTurnChanged]);

  const send = (event?: FormEvent) => {
    event?.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    clearError();
    if (messages.length === 0 && choiceRef.current !== null) {
      nameOnFinish.current = text.length > 60 ? `${text.slice(0, 59)}…` : text;
    }
    setInput("");
    void sendMessage({ text });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  };

  const onStop = async () => {
    setStopping(true);
    const last = messages.at(-1);
    try {
      let target = last?.role === "assistant" && isUuid(last.id) ? last.id : null;
      if (target === null) target = (await getChat(tokenRef.current, chatUuid)).activeStreamUuid;
      if (target === null) {
        stop();
        setStopping(false);
        return;
      }
      // The turn runs on the server: cancelling it there ends the stream with its final chunk.
      await cancelMessages(tokenRef.current, [target]);
    } catch {
      stop();
      setStopping(false);
    }
    inputRef.current?.focus();
  };

  const last = messages.at(-1);
  const lastCredits = !busy && last?.role === "assistant" ? last.metadata?.usage?.creditsUsedCount : undefined;
  let statusText = "";
  if (status === "submitted") statusText = "Sending…";
  else if (status === "streaming") statusText = stopping ? "Stopping…" : "The assistant is answering…";
  else if (lastCredits !== undefined) statusText = `Turn finished. Credits used: ${formatCredits(lastCredits)}`;

  return (
    <>
      <div className="log" role="log" aria-label="Messages" aria-busy={busy} ref={logRef} onScroll={onScroll}>
        {messages.length === 0 && <p className="empty">No messages yet. Type one below.</p>}
        {messages.map((m, i) => (
          <MessageView key={m.id} message={m} live={busy && i === messages.length - 1} />
        ))}
        {error && (
          <p className="error-text" role="alert">
            Error: {errorText(error.message)}
          </p>
        )}
      </div>
      <p className="turn-status" role="status">
        {statusText}
      </p>
      <form className="composer" onSubmit={send} aria-label="Send a message">
        <label htmlFor="message">Message</label>
        <textarea
          id="message"
          ref={inputRef}
          rows={3}
          value={input}
          placeholder="Ask something, e.g. use calculate for 6*7 (Enter sends, Shift+Enter adds a line)"
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="composer-buttons">
          <button type="submit" disabled={busy || !input.trim()}>
            Send
          </button>
          {busy && (
            <button type="button" className="stop" onClick={() => void onStop()} disabled={stopping}>
              Stop
            </button>
          )}
        </div>
      </form>
    </>
  );
}
