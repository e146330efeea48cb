import { WharfError } from '../../common/index.js';

export const unauthorized = (message: string): WharfError =>
  new WharfError('unauthorized', 'ERR_UNAUTHORIZED', message);
