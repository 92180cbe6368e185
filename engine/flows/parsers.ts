// The application parsers the flow stage runs over TCP streams, in the order
// they are asked whether a direction's first bytes are theirs.

import { httpParser } from "../decode/http";
import type { AppParser } from "../types/parser";

export const APP_PARSERS: AppParser[] = [httpParser];
