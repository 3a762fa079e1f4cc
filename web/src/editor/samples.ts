// The sample payload a flow was last tested with, kept in the browser per flow so the next test starts from it.

const PREFIX = 'ferry.testSample.';

/** StoredSample is the last test input: the JSON text as typed or picked, and the trigger node it was meant for. */
export interface StoredSample {
  text: string;
  trigger?: string;
}

/** SAMPLE_LIMIT keeps one huge payload from filling the browser's storage for the whole app. */
export const SAMPLE_LIMIT = 200_000;

type KV = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const storage = (): KV | null => {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
};

export function loadSample(flowId: string, store: KV | null = storage()): StoredSample | null {
  const raw = store?.getItem(PREFIX + flowId);
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<StoredSample>;
    if (typeof v.text !== 'string') return null;
    return typeof v.trigger === 'string' && v.trigger ? { text: v.text, trigger: v.trigger } : { text: v.text };
  } catch {
    return null;
  }
}

/** saveSample remembers the sample; a sample too large to keep is simply not remembered. */
export function saveSample(flowId: string, sample: StoredSample, store: KV | null = storage()): void {
  if (!store) return;
  if (sample.text.length > SAMPLE_LIMIT) {
    store.removeItem(PREFIX + flowId);
    return;
  }
  try {
    store.setItem(PREFIX + flowId, JSON.stringify(sample));
  } catch {
    // Storage full or disabled: the sample is only a convenience.
  }
}
