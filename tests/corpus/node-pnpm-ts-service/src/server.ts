import Fastify from 'fastify';
import { toFahrenheit } from './temperature.js';

const app = Fastify({ logger: true });

app.get<{ Params: { celsius: string } }>('/f/:celsius', async (request) => {
  return { fahrenheit: toFahrenheit(Number(request.params.celsius)) };
});

const port = Number(process.env.PORT ?? 3000);
await app.listen({ port, host: '0.0.0.0' });
