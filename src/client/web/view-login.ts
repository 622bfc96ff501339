/**
 * The sign-in screen: a name, and a password to sign in to (or create) an account.
 * Without a password the user chats as a guest under that name.
 */
import { byId } from './dom.js';

export interface LoginChoice {
  username: string;
  password: string;
  /** Create an account with this name and password. */
  register: boolean;
}

const MIN_PASSWORD = 8;

export class LoginView {
  private readonly root = byId('login');
  private readonly form = byId<HTMLFormElement>('login-form');
  private readonly name = byId<HTMLInputElement>('login-name');
  private readonly password = byId<HTMLInputElement>('login-password');
  private readonly error = byId('login-error');
  private readonly submitBtn = byId<HTMLButtonElement>('login-submit');
  private readonly registerBtn = byId<HTMLButtonElement>('register');

  constructor(private readonly onChoice: (choice: LoginChoice) => void) {
    this.form.addEventListener('submit', (ev) => { ev.preventDefault(); this.choose(false); });
    this.registerBtn.addEventListener('click', () => this.choose(true));
    this.password.addEventListener('input', () => this.label());
  }

  show(name: string, error = ''): void {
    this.root.hidden = false;
    byId('chat').hidden = true;
    if (name && !this.name.value) this.name.value = name;
    this.error.textContent = error;
    this.busy(false);
    this.label();
    (this.name.value ? this.password : this.name).focus();
  }

  hide(): void {
    this.root.hidden = true;
  }

  busy(on: boolean): void {
    this.submitBtn.disabled = on;
    this.registerBtn.disabled = on;
    this.form.setAttribute('aria-busy', String(on));
    if (on) this.submitBtn.textContent = 'Connecting…';
    else this.label();
  }

  private label(): void {
    this.submitBtn.textContent = this.password.value ? 'Sign in' : 'Join as guest';
  }

  private choose(register: boolean): void {
    const username = this.name.value.trim();
    const password = this.password.value;
    if (!/^[\p{L}\p{N}_.-]{1,32}$/u.test(username)) {
      this.fail('Names are 1 to 32 letters, digits, "_", "-" or ".".', this.name);
      return;
    }
    if (register && (password.length < MIN_PASSWORD || password.length > 256)) {
      this.fail(`To create an account, choose a password of at least ${MIN_PASSWORD} characters.`, this.password);
      return;
    }
    this.error.textContent = '';
    this.busy(true);
    this.onChoice({ username, password, register });
  }

  private fail(message: string, field: HTMLInputElement): void {
    this.error.textContent = message;
    field.setAttribute('aria-invalid', 'true');
    field.focus();
    field.addEventListener('input', () => field.removeAttribute('aria-invalid'), { once: true });
  }
}
