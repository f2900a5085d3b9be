// The playground: the API token, the workspace's chats and agents, and the open chat.
import { type FormEvent, type ReactNode, useCallback, useEffect, useRef, useState } from "react";

import { type Agent, ApiError, type Chat, type ChatMessage, listAgents, listChats, listMessages } from "./api";
import { type AgentChoice, ChatView } from "./ChatView";
import { chatInHash, initialToken, saveToken, setChatInHash, uuid4 } from "./token";

interface OpenChat {
  uuid: string;
  messages: ChatMessage[];
  /** Not stored yet: its first message creates it (with the picked agent). */
  isNew: boolean;
}

const STATUS_LABEL: Record<string, string> = {
  pending: "pending",
  generating: "answering",
  success: "answered",
  error: "error",
  cancelling: "stopping",
  cancelled: "stopped",
};

function shortDate(iso: string): string {
  const date = new Date(iso);
  const today = new Date().toDateString() === date.toDateString();
  return today
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { month: "short", day: "numeric" });
}

function choiceKey(choice: AgentChoice): string {
  return choice.agentUuid ? `${choice.draft ? "draft" : "deployed"}:${choice.agentUuid}` : "";
}

function parseChoice(key: string): AgentChoice {
  const [kind, agentUuid] = key.split(":");
  return agentUuid ? { agentUuid, draft: kind === "draft" } : { agentUuid: null, draft: false };
}

function unauthorizedText(detail: string): string {
  return `The server refused this API token (${detail}). Paste a valid token into "API token".`;
}

function TokenForm({ token, onSave }: { token: string; onSave: (token: string) => void }): ReactNode {
  const [value, setValue] = useState(token);
  useEffect(() => setValue(token), [token]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSave(value.trim());
  };
  return (
    <form className="token-form" onSubmit={submit} aria-label="Token settings">
      <label htmlFor="token">API token</label>
      <input
        id="token"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={value}
        placeholder="chk_…"
        onChange={(e) => setValue(e.target.value)}
      />
      <button type="submit">Use token</button>
      {token && (
        <button type="button" onClick={() => onSave("")}>
          Forget token
        </button>
      )}
    </form>
  );
}

export function App(): ReactNode {
  const [token, setToken] = useState(initialToken);
  const [authError, setAuthError] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [chats, setChats] = useState<Chat[] | null>(null);
  const [agents, setAgents] = useState<Agent[]>([]);
  const [open, setOpen] = useState<OpenChat | null>(null);
  const [choice, setChoice] = useState<AgentChoice>({ agentUuid: null, draft: false });
  const tokenField = useRef<HTMLDivElement>(null);

  const fail = useCallback((err: unknown) => {
    if (err instanceof ApiError && err.status === 401) {
      setAuthError(unauthorizedText(err.message));
      setChats(null);
      setOpen(null);
    } else {
      setLoadError(err instanceof Error ? err.message : String(err));
    }
  }, []);

  const refreshChats = useCallback(async () => {
    if (!token) return;
    try {
      setChats(await listChats(token));
      setLoadError(null);
    } catch (err) {
      fail(err);
    }
  }, [token, fail]);

  const openChat = useCallback(
    async (chatUuid: string) => {
      try {
        const messages = await listMessages(token, chatUuid);
        setOpen({ uuid: chatUuid, messages, isNew: false });
      } catch (err) {
        if (err instanceof ApiError && err.reason === "chatNotFound") {
          setOpen({ uuid: chatUuid, messages: [], isNew: true });
        } else {
          fail(err);
          return;
        }
      }
      setChatInHash(chatUuid);
    },
    [token, fail],
  );

  const newChat = useCallback(() => {
    const chatUuid = uuid4();
    setOpen({ uuid: chatUuid, messages: [], isNew: true });
    setChatInHash(chatUuid);
  }, []);

  useEffect(() => {
    if (!token) return;
    let cancelled = false;
    setAuthError(null);
    (async () => {
      try {
        const [loadedChats, loadedAgents] = await Promise.all([listChats(token), listAgents(token)]);
        if (cancelled) return;
        setChats(loadedChats);
        setAgents(loadedAgents);
        const inHash = chatInHash();
        if (inHash) await openChat(inHash);
        else newChat();
      } catch (err) {
        if (!cancelled) fail(err);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [token, openChat, newChat, fail]);

  useEffect(() => {
    if (authError) tokenField.current?.querySelector("input")?.focus();
  }, [authError]);

  const onSaveToken = (value: string) => {
    saveToken(value);
    setAuthError(null);
    setChats(null);
    setOpen(null);
    setToken(value);
  };

  const onTurnChanged = useCallback(() => void refreshChats(), [refreshChats]);
  const onUnauthorized = useCallback((detail: string) => {
    setAuthError(unauthorizedText(detail));
  }, []);

  const agentName = (agentUuid: string | null) =>
    agentUuid ? (agents.find((a) => a.uuid === agentUuid)?.name ?? "an agent") : "Built-in model";
  const openChatRow = chats?.find((c) => c.uuid === open?.uuid);
  const isNew = open !== null && open.isNew && !openChatRow;

  return (
    <div className="app">
      <header className="top">
        <h1>cargohold playground</h1>
        <div ref={tokenField}>
          <TokenForm token={token} onSave={onSaveToken} />
        </div>
      </header>
      {authError && (
        <p className="banner error-text" role="alert">
          {authError}
        </p>
      )}
      {loadError && (
        <p className="banner error-text" role="alert">
          Could not load: {loadError}
        </p>
      )}
      {!token && (
        <main className="intro">
          <p>
            Paste your workspace's API token into <strong>API token</strong>: <code>cargohold serve</code> prints one on
            its first start, and <code>cargohold token create</code> makes another. Or open this page as{" "}
            <code>/#token=&lt;token&gt;</code>. The token stays in this tab (session storage).
          </p>
        </main>
      )}
      {token && !authError && (
        <div className="layout">
          <nav className="sidebar" aria-label="Chats">
            <button type="button" className="new-chat" onClick={newChat}>
              New chat
            </button>
            <h2 id="chats-heading">Chats</h2>
            {chats === null ? (
              <p>Loading…</p>
            ) : chats.length === 0 ? (
              <p>No chats yet.</p>
            ) : (
              <ul className="chat-list" aria-labelledby="chats-heading">
                {chats.map((chat) => (
                  <li key={chat.uuid}>
                    <button
                      type="button"
                      className="chat-item"
                      aria-current={chat.uuid === open?.uuid ? "true" : undefined}
                      onClick={() => void openChat(chat.uuid)}
                    >
                      <span className="chat-name">{chat.name || "Untitled chat"}</span>
                      <span className="chat-agent">
                        {agentName(chat.agentUuid)}
                        {chat.trigger?.type === "draft" ? " (draft)" : ""}
                      </span>
                      <span className="chat-meta">
                        <span className={`chat-status status-${chat.lastMessage?.status ?? "none"}`}>
                          {chat.lastMessage ? (STATUS_LABEL[chat.lastMessage.status] ?? chat.lastMessage.status) : "no messages"}
                        </span>
                        {" · "}
                        <time dateTime={chat.createdAt}>{shortDate(chat.createdAt)}</time>
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </nav>
          <main className="conversation" aria-label="Conversation">
            <div className="chat-head">
              {isNew ? (
                <>
                  <label htmlFor="agent">Agent</label>
                  <select id="agent" value={choiceKey(choice)} onChange={(e) => setChoice(parseChoice(e.target.value))}>
                    <option value="">Built-in model (no agent)</option>
                    {agents.map((agent) => [
                      agent.deployedRelease && (
                        <option key={`d${agent.uuid}`} value={`deployed:${agent.uuid}`}>
                          {agent.name}: deployed release{agent.deployedRelease.version ? ` v${agent.deployedRelease.version}` : ""}
                        </option>
                      ),
                      <option key={`r${agent.uuid}`} value={`draft:${agent.uuid}`}>
                        {agent.name}: draft
                      </option>,
                    ])}
                  </select>
                </>
              ) : (
                openChatRow && (
                  <p className="chat-title">
                    {openChatRow.name || "Untitled chat"} · {agentName(openChatRow.agentUuid)}
                    {openChatRow.trigger?.type === "draft" ? " (draft)" : ""}
                  </p>
                )
              )}
            </div>
            {open && (
              <ChatView
                key={open.uuid}
                chatUuid={open.uuid}
                initialMessages={open.messages}
                token={token}
                choice={isNew ? choice : null}
                resume={!open.isNew}
                onTurnChanged={onTurnChanged}
                onUnauthorized={onUnauthorized}
              />
            )}
          </main>
        </div>
      )}
    </div>
  );
}
