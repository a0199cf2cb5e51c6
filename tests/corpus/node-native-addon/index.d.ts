/** Adler-32 checksum of `data`. */
export function adler32(data: string): number
