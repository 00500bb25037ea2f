// Close codes and error codes as sentences a person can act on. Never show a number.
import { CloseCode, ErrorCode } from '../../signal-server/protocol/protocol.ts';

export function closeSentence(code: number): string {
  switch (code) {
    case CloseCode.shuttingDown:
      return 'The server is restarting. Reconnecting by itself…';
    case CloseCode.replaced:
      return 'Wisp was opened in another tab or window, so this one was disconnected.';
    case CloseCode.rateLimited:
      return 'Disconnected for sending too much too fast. Reconnecting shortly…';
    case CloseCode.protocolError:
      return 'The server could not understand this app. Reconnecting…';
    case CloseCode.unsupportedVersion:
      return 'This server runs a different version of Wisp. Reload the page to update.';
    case CloseCode.tooManyConnections:
      return 'Too many connections from your network. Close other Wisp tabs; retrying shortly…';
    case CloseCode.kicked:
      return 'You were removed from the server. Reconnecting…';
    case CloseCode.banned:
      return 'You are banned from this server.';
    case CloseCode.helloTimeout:
      return 'The connection was too slow to start. Retrying…';
    case CloseCode.framingError:
    case CloseCode.invalidText:
      return 'The server received something garbled from this device and closed the connection. Reconnecting…';
    case CloseCode.tooBig:
      return 'Something too large was sent and the server closed the connection. Reconnecting…';
    default:
      return 'The connection to the server was lost. Reconnecting…';
  }
}

export function errorSentence(code: string, serverMessage: string): string {
  switch (code) {
    case ErrorCode.rateLimited:
      return 'You are sending messages quickly; they will go out in a moment.';
    case ErrorCode.serverBusy:
      return 'The server could not take your message just now; it will go out in a moment.';
    case ErrorCode.nameTaken:
    case ErrorCode.nameInvalid:
    case ErrorCode.roomInvalid:
    case ErrorCode.tooManyRooms:
    case ErrorCode.notInRoom:
    case ErrorCode.forbidden:
    case ErrorCode.banned:
    case ErrorCode.notFound:
    case ErrorCode.roomExists:
    case ErrorCode.adminWrong:
    case ErrorCode.throttled:
    case ErrorCode.peerUnreachable:
    case ErrorCode.passphraseRequired:
    case ErrorCode.passphraseWrong:
    case ErrorCode.notPrivate:
    case ErrorCode.sealedOnly:
    case ErrorCode.storeFailed:
      // These are already sentences about the person's own request.
      return serverMessage;
    case ErrorCode.unsupportedVersion:
      return 'This server runs a different version of Wisp. Reload the page to update.';
    case ErrorCode.receiverBusy:
      return "That person's connection is slow right now; wait a moment and try again.";
    case ErrorCode.keyInvalid:
      return "The server did not accept this browser's identity key: it must be a P-256 key in its standard form. Reload the page to update Wisp.";
    default:
      return `The server refused a request: ${serverMessage}`;
  }
}
