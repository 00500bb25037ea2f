// Derives private-room secrets off the page's thread, so 600,000 PBKDF2 rounds never
// freeze the UI. The CryptoKey travels back by structured clone and stays non-extractable.
import { deriveRoomSecretsHere } from './room-kdf.ts';

export interface KdfRequest {
  id: number;
  passphrase: string;
  room: string;
  server: string;
}
export type KdfResponse = { id: number; ok: true; verifier: string; key: CryptoKey; server: string } | { id: number; ok: false; message: string };

const scope = self as unknown as { onmessage: ((event: MessageEvent<KdfRequest>) => void) | null; postMessage(message: KdfResponse): void };

scope.onmessage = (event) => {
  const { id, passphrase, room, server } = event.data;
  deriveRoomSecretsHere(passphrase, room, server).then(
    (secrets) => scope.postMessage({ id, ok: true, ...secrets }),
    (error: unknown) => scope.postMessage({ id, ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
};
