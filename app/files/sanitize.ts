// Received file names come from the other app and are not trusted: what is saved must be
// a plain, visible, portable name that cannot climb directories, hide its real extension
// with bidi tricks, or name a Windows device.
const MAX_NAME_LENGTH = 120;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// Control characters, bidi controls and other invisible formatting characters.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8]/g;
const UNSAFE = /[/\\:*?"<>|]/g;

export function sanitizeFilename(raw: string): string {
  // Only the last path segment: a name is never a path.
  const base = raw.split(/[/\\]/).filter((part) => part.trim() !== '').pop() ?? '';
  let name = base.normalize('NFC').replace(INVISIBLE, '').replace(UNSAFE, '_').replace(/\s+/g, ' ').trim();
  // No leading dots (hidden files, "..") and no trailing dots or spaces (Windows drops them).
  name = name.replace(/^[.\s]+/, '').replace(/[.\s]+$/, '');
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const extension = dot > 0 ? name.slice(dot) : '';
  const safeStem = RESERVED.test(stem.split('.')[0].trim()) ? `_${stem}` : stem;
  name = safeStem + extension;
  if ([...name].length > MAX_NAME_LENGTH) {
    // Keep the extension: it says what the file is.
    const keep = [...extension].length <= 16 ? extension : '';
    name = [...name.slice(0, name.length - keep.length)].slice(0, MAX_NAME_LENGTH - [...keep].length).join('').trimEnd() + keep;
  }
  return name || 'file';
}
