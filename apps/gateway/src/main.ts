import { hello } from '@kiln/core';
console.log(hello('x'));
