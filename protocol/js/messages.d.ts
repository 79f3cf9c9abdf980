// Types of messages.js: user-facing texts for TenderKey error reasons.

export type Language = 'zh-TW' | 'en';

/** A template with {placeholders}, or a function of the values (null when values are missing). */
export type MessageTemplate = string | ((values: Record<string, unknown>) => string | null);

export declare const LANGUAGES: readonly Language[];
export declare const DEFAULT_LANGUAGE: 'zh-TW';

/** Per language: reason (or `REASON.variant`) -> template. Variants: `.unknown` (data.outcome is
 * "unknown"), `.puk` (about the PUK), `.field` (data.field given), `.plain` (without values). */
export declare const MESSAGES: Readonly<Record<Language, Readonly<Record<string, MessageTemplate>>>>;

/** Any Chinese tag (zh, zh-TW, zh-Hant, …) gives zh-TW; other tags give en; none gives zh-TW. */
export declare function resolveLanguage(lang?: string | null): Language;

export interface MessageOptions {
  /** BCP 47 language tag; default zh-TW. */
  lang?: string;
  /** The error's data (retriesLeft, field, sw, outcome, …); default: taken from the error. */
  data?: Record<string, unknown>;
  /** The method that failed, which tells PIN from PUK where data does not. */
  method?: string;
}

/** The user-facing text for an error: a reason string, a TenderKeyError, or any object with
 * `reason` (and `data`, `method`), an error `data` object included. */
export declare function messageFor(
  error: string | { reason: string; data?: Record<string, unknown>; method?: string },
  options?: MessageOptions,
): string;
