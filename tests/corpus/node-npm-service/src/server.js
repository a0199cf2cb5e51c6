'use strict';

const express = require('express');
const { quoteFor } = require('./quotes');

const app = express();

app.get('/quote', (req, res) => {
  res.json({ quote: quoteFor(new Date().getDate()) });
});

const port = Number(process.env.PORT) || 3000;
app.listen(port, () => console.log(`listening on ${port}`));
