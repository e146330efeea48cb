import { randomInt } from 'node:crypto';

// Generated names read like Docker's (adjective_surname); the words are our own choice.
const LEFT = [
  'agile',
  'amber',
  'bold',
  'brave',
  'bright',
  'calm',
  'clever',
  'cosmic',
  'crisp',
  'dapper',
  'eager',
  'epic',
  'fervent',
  'gentle',
  'happy',
  'hardy',
  'jolly',
  'keen',
  'kind',
  'lucid',
  'merry',
  'mellow',
  'nimble',
  'noble',
  'quiet',
  'rapid',
  'serene',
  'sharp',
  'steady',
  'sunny',
  'swift',
  'tender',
  'upbeat',
  'vivid',
  'witty',
  'zealous',
];
const RIGHT = [
  'babbage',
  'bohr',
  'curie',
  'darwin',
  'dijkstra',
  'einstein',
  'euler',
  'faraday',
  'fermi',
  'gauss',
  'hopper',
  'hypatia',
  'kepler',
  'knuth',
  'lamarr',
  'lovelace',
  'maxwell',
  'meitner',
  'newton',
  'noether',
  'pascal',
  'planck',
  'ritchie',
  'shannon',
  'thompson',
  'turing',
  'wozniak',
];

export function randomName(taken: (name: string) => boolean): string {
  for (let i = 0; i < 20; i++) {
    const name = `${LEFT[randomInt(LEFT.length)]}_${RIGHT[randomInt(RIGHT.length)]}`;
    const candidate = i < 10 ? name : `${name}${randomInt(10)}`;
    if (!taken(candidate)) return candidate;
  }
  return `wharf_${randomInt(1e9)}`;
}

const VALID_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validName(name: string): boolean {
  return VALID_NAME.test(name);
}
