/** The handler of each client message type. */
import type { ClientMessageOf, ClientType } from '../../protocol/schema.js';
import type { HandlerContext } from './context.js';
import { ban, getToken, kick, login, logout, register, unban } from './handle-accounts.js';
import { createBot, listBots, revokeBot } from './handle-bots.js';
import { createRoom, invite, joinRoom, listConversations, listMembers, openDirect, removeMember, setRole } from './handle-conversations.js';
import {
  deleteMessage, editMessage, history, markRead, privateHistory, privateMessage, react, search, sendMessage, typing,
} from './handle-messages.js';
import { pushSubscribe, pushUnsubscribe, setNotify } from './handle-notify.js';
import { createWebhook, listWebhooks, revokeWebhook, setBotWebhook } from './handle-webhooks.js';
import { leaveRoom, listRooms, listUsers, ping, setTopic, setUsername } from './handle-rooms.js';
import type { Session } from './session.js';

type Handler<T extends ClientType> = (ctx: HandlerContext, s: Session, msg: ClientMessageOf<T>) => void | Promise<void>;

export const HANDLERS: { [T in ClientType]: Handler<T> } = {
  SetUsername: setUsername,
  JoinRoom: joinRoom,
  LeaveRoom: leaveRoom,
  SendMessage: sendMessage,
  PrivateMessage: privateMessage,
  ListRooms: listRooms,
  ListUsers: listUsers,
  History: history,
  PrivateHistory: privateHistory,
  Typing: typing,
  EditMessage: editMessage,
  DeleteMessage: deleteMessage,
  React: react,
  MarkRead: markRead,
  Register: register,
  Login: login,
  Logout: logout,
  Search: search,
  SetTopic: setTopic,
  Kick: kick,
  Ban: ban,
  Unban: unban,
  Ping: ping,
  SetNotify: setNotify,
  PushSubscribe: pushSubscribe,
  PushUnsubscribe: pushUnsubscribe,
  GetToken: getToken,
  CreateRoom: createRoom,
  Invite: invite,
  RemoveMember: removeMember,
  SetRole: setRole,
  OpenDirect: openDirect,
  ListConversations: listConversations,
  ListMembers: listMembers,
  CreateBot: createBot,
  ListBots: listBots,
  RevokeBot: revokeBot,
  CreateWebhook: createWebhook,
  ListWebhooks: listWebhooks,
  RevokeWebhook: revokeWebhook,
  SetBotWebhook: setBotWebhook,
};
