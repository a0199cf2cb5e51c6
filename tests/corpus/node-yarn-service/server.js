'use strict';

const express = require('express');
const { shortCode } = require('./lib/links');

const app = express();
const links = new Map();

app.use(express.json());
app.post('/links', (req, res) => {
  const code = shortCode(links.size + 1);
  links.set(code, req.body.url);
  res.status(201).json({ code });
});
app.get('/:code', (req, res) => {
  const url = links.get(req.params.code);
  if (url) res.redirect(url);
  else res.sendStatus(404);
});

app.listen(process.env.PORT || 8080);
