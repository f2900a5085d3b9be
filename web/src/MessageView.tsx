// One message of the conversation: text, reasoning (collapsed), tool calls, errors, credits.
import { getToolOrDynamicToolName, isToolOrDynamicToolUIPart } from "ai";
import type { ReactNode } from "react";

import type { ChatMessage } from "./api";

type Part = ChatMessage["parts"][number];

function json(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value, null, 2);
}

const TOOL_STATE: Record<string, string> = {
  "input-streaming": "preparing input…",
  "input-available": "running…",
  "output-available": "done",
  "output-error": "failed",
};

function ToolCall({ part }: { part: Part }): ReactNode {
  if (!isToolOrDynamicToolUIPart(part)) return null;
  const name = getToolOrDynamicToolName(part);
  const state = TOOL_STATE[part.state] ?? part.state;
  return (
    <section className={`tool tool-${part.state}`} aria-label={`Tool call ${name}`}>
      <h3 className="tool-title">
        Tool call <code>{name}</code> <span className="tool-state">{state}</span>
      </h3>
      <dl>
        <dt>Input</dt>
        <dd>
          <pre>{json(part.input)}</pre>
        </dd>
        {part.state === "output-available" && (
          <>
            <dt>Output</dt>
            <dd>
              <pre>{json(part.output)}</pre>
            </dd>
          </>
        )}
        {part.state === "output-error" && (
          <>
            <dt>Error</dt>
            <dd>
              <pre className="error-text">{part.errorText}</pre>
            </dd>
          </>
        )}
      </dl>
    </section>
  );
}

/** Text with `inline code` shown as code; everything else as it is (never parsed as HTML). */
function TextView({ text }: { text: string }): ReactNode {
  const pieces = text.split("`");
  if (pieces.length < 3) return <p className="text">{text}</p>;
  return (
    <p className="text">
      {pieces.map((piece, i) => (i % 2 === 1 && i < pieces.length - 1 ? <code key={i}>{piece}</code> : piece))}
    </p>
  );
}

function PartView({ part }: { part: Part }): ReactNode {
  if (part.type === "text") return <TextView text={part.text} />;
  if (part.type === "reasoning") {
    return (
      <details className="reasoning">
        <summary>Reasoning</summary>
        <p>{part.text}</p>
      </details>
    );
  }
  if (part.type === "file") {
    return (
      <p className="file">
        File: <code>{part.filename ?? part.mediaType}</code>
      </p>
    );
  }
  if (isToolOrDynamicToolUIPart(part)) return <ToolCall part={part} />;
  return null; // step-start, sources and data-* parts carry nothing to show here
}

export function formatCredits(value: number): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: 6 });
}

export function MessageView({ message, live }: { message: ChatMessage; live: boolean }): ReactNode {
  const meta = message.metadata ?? {};
  const credits = meta.usage?.creditsUsedCount;
  const isAssistant = message.role === "assistant";
  const stopped = meta.finishReason === "cancelled" || meta.status === "cancelled";
  return (
    <article className={`message message-${message.role}`} aria-label={isAssistant ? "Assistant message" : "Your message"}>
      <h2 className="author">{isAssistant ? "Assistant" : "You"}</h2>
      {message.parts.map((part, i) => (
        <PartView key={i} part={part} />
      ))}
      {meta.status === "error" && meta.errorMessage && (
        <p className="error-text" role="alert">
          Error: {meta.errorMessage}
        </p>
      )}
      {isAssistant && !live && (stopped || credits !== undefined) && (
        <p className="turn-footer">
          {stopped && <span className="stopped">Stopped. </span>}
          {credits !== undefined && <span className="credits">Credits used: {formatCredits(credits)}</span>}
        </p>
      )}
    </article>
  );
}
