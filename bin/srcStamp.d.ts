// Types of srcStamp.js (plain JavaScript: the launcher runs it before any TypeScript compiler).
export declare const STAMP_FILE: string;
export declare function sourceStamp(root: string): string;
export declare function buildIsFresh(root: string, distDir: string): boolean;
