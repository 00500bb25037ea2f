// The dialogs (the room picker too), the member, room and whisper menus and the notice, in one chunk loaded after the first paint (none is
// needed for it): the shell renders their tags at once, and each upgrades, keeping the
// properties set on it, when this module arrives.
import './member-menu.ts';
import './room-menu.ts';
import './whisper-menu.ts';
import './room-picker.ts';
import './settings-dialog.ts';
import './password-dialog.ts';
import './passphrase-dialog.ts';
import './invite-dialog.ts';
import './share-dialog.ts';
import './verify-dialog.ts';
import './notice.ts';
import './rename-dialog.ts';
import './help-panel.ts';
// A file card shows only once a transfer exists, long after this chunk arrived.
import './file-card.ts';
